package io.pgrouter.sink.datalake;

/**
 * A column's PostgreSQL type as the lake writes it. {@code precision}/{@code scale} are set for constrained
 * numerics; {@code element} for one-dimensional arrays.
 */
record PgType(Kind kind, int precision, int scale, PgType element) {

    enum Kind { INT, LONG, FLOAT, DOUBLE, DECIMAL, BOOLEAN, TEXT, JSON, UUID, BYTES, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, ARRAY }

    static final PgType TEXT = of(Kind.TEXT);

    static PgType of(Kind kind) {
        return new PgType(kind, 0, 0, null);
    }

    /**
     * From {@code pg_type.typname} and {@code pg_attribute.atttypmod}. Numerics without a precision, or wider than
     * Parquet's 38 digits, stay exact as text; types without a Parquet counterpart (interval, inet, enums...) are text
     * as the event renders them.
     */
    static PgType fromCatalog(String typname, int typmod, String elementTypname) {
        if (elementTypname != null) {
            PgType element = fromCatalog(elementTypname, typmod, null);
            return new PgType(Kind.ARRAY, 0, 0, element);
        }
        return switch (typname) {
            case "int2", "int4" -> of(Kind.INT);
            case "int8", "oid" -> of(Kind.LONG);
            case "float4" -> of(Kind.FLOAT);
            case "float8" -> of(Kind.DOUBLE);
            case "numeric" -> numeric(typmod);
            case "bool" -> of(Kind.BOOLEAN);
            case "json", "jsonb" -> of(Kind.JSON);
            case "uuid" -> of(Kind.UUID);
            case "bytea" -> of(Kind.BYTES);
            case "date" -> of(Kind.DATE);
            case "time" -> of(Kind.TIME);
            case "timestamp" -> of(Kind.TIMESTAMP);
            case "timestamptz" -> of(Kind.TIMESTAMPTZ);
            default -> TEXT;
        };
    }

    private static PgType numeric(int typmod) {
        if (typmod < 4) return TEXT;
        int precision = ((typmod - 4) >> 16) & 0xffff;
        int scale = (typmod - 4) & 0xffff;
        if (precision < 1 || precision > 38 || scale > precision) return TEXT;
        return new PgType(Kind.DECIMAL, precision, scale, null);
    }
}
