package io.pgrouter.sink.datalake;

import java.util.Locale;

/**
 * Hive-style folders: {@code <schema>.<table>/dt=YYYY-MM-DD/hour=HH} from the UTC commit time, each level optional
 * (parameter {@code partitioning}, a list of {@code table}, {@code date}, {@code hour}).
 */
record Partitioning(boolean table, boolean date, boolean hour) {

    static Partitioning parse(String spec) {
        boolean table = false, date = false, hour = false;
        for (String part : spec.split(",")) {
            switch (part.trim().toLowerCase(Locale.ROOT)) {
                case "table" -> table = true;
                case "date" -> date = true;
                case "hour" -> hour = true;
                case "", "none" -> { }
                default -> throw new IllegalArgumentException("datalake-sink partitioning: unknown level '" + part.trim()
                        + "'; use a list of table, date, hour");
            }
        }
        return new Partitioning(table, date, hour);
    }

    /** The folder of a row, relative to the root, ending with '/' (empty when nothing partitions). */
    String folder(String tableFolder, String utcTime) {
        StringBuilder path = new StringBuilder();
        if (table) path.append(tableFolder).append('/');
        if (date) path.append("dt=").append(utcTime, 0, 10).append('/');
        if (hour) path.append("hour=").append(utcTime, 11, 13).append('/');
        return path.toString();
    }
}
