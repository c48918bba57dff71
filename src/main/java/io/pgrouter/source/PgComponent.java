package io.pgrouter.source;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Function;

import jakarta.inject.Inject;
import jakarta.inject.Named;
import jakarta.inject.Singleton;

import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.spi.TypeConverterRegistry;
import org.apache.camel.support.DefaultComponent;
import org.apache.camel.support.TypeConverterSupport;

import io.pgrouter.event.EventBody;
import io.pgrouter.source.kafka.KafkaSource;
import io.pgrouter.source.notify.NotifySource;
import io.pgrouter.source.wal.WalSource;
import io.quarkus.arc.Unremovable;

/**
 * The {@code pg:} component routes subscribe with: {@code pg:wal?tables=public.products&ops=insert,update},
 * {@code pg:wal?messages=orders}, {@code pg:notify?channels=products}, {@code pg:kafka?topics=pg.public.products} (the
 * second tier). Every endpoint of a kind shares one
 * source (one replication slot, one LISTEN connection). The router's lifecycle decides when the sources run.
 */
@Singleton
@Named("pg")
@Unremovable
public class PgComponent extends DefaultComponent {

    @Inject
    WalSource wal;

    @Inject
    NotifySource notify;

    @Inject
    KafkaSource kafka;

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        PgEndpoint.Kind kind = switch (remaining) {
            case "wal" -> PgEndpoint.Kind.WAL;
            case "notify" -> PgEndpoint.Kind.NOTIFY;
            case "kafka" -> PgEndpoint.Kind.KAFKA;
            default -> throw new IllegalArgumentException("pg:" + remaining + " is not a source: use pg:wal, pg:notify or pg:kafka");
        };
        PgEndpoint endpoint = new PgEndpoint(uri, this, kind);
        setProperties(endpoint, parameters);
        return endpoint;
    }

    @Override
    protected void doInit() throws Exception {
        super.doInit();
        registerBodyConverters(getCamelContext().getTypeConverterRegistry());
    }

    /** Whatever reads the event body as text, bytes or a stream gets the event JSON (see {@link EventBody}). */
    static void registerBodyConverters(TypeConverterRegistry registry) {
        registry.addTypeConverter(String.class, EventBody.class, new BodyConverter(EventBody::json));
        registry.addTypeConverter(byte[].class, EventBody.class, new BodyConverter(b -> b.json().getBytes(StandardCharsets.UTF_8)));
        registry.addTypeConverter(InputStream.class, EventBody.class,
                new BodyConverter(b -> new ByteArrayInputStream(b.json().getBytes(StandardCharsets.UTF_8))));
        registry.addTypeConverter(Reader.class, EventBody.class, new BodyConverter(b -> new StringReader(b.json())));
    }

    private static final class BodyConverter extends TypeConverterSupport {
        private final Function<EventBody, Object> convert;

        BodyConverter(Function<EventBody, Object> convert) {
            this.convert = convert;
        }

        @Override
        public <T> T convertTo(Class<T> type, Exchange exchange, Object value) {
            return type.cast(convert.apply((EventBody) value));
        }
    }

    // bin/pgrouter routes test: the recorded events' source, in place of the database's
    private volatile EventSource replacement;

    /** Routes subscribe to {@code source} from now on instead of the WAL and NOTIFY sources (a dry run on recorded events). */
    public void replaceSources(EventSource source) {
        replacement = source;
    }

    EventSource source(PgEndpoint.Kind kind) {
        EventSource replaced = replacement;
        if (replaced != null) return replaced;
        return switch (kind) {
            case WAL -> wal;
            case NOTIFY -> notify;
            case KAFKA -> kafka;
        };
    }
}
