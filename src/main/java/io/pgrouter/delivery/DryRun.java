package io.pgrouter.delivery;

/**
 * {@code bin/pgrouter routes test}: the one switch that makes every sink hand what it would send to a capture instead
 * of its destination. Each sink keeps all of its own code (mapping, signing, batching) and swaps only its transport
 * (the HTTP call, the broker connection, the file store, the SMTP transport) when {@link #on()}. Off in a running router.
 */
public final class DryRun {

    /** Where the sinks' transports hand their messages in a dry run. */
    public interface Capture {

        /**
         * One message as the sink would send it, as readable text; called on the thread that routes the event, or
         * before the source batch ends (the dry run routes one event to one route per batch).
         */
        void sent(String sink, String text);

        /** The clock of the event being routed (its commit time), so what a sink stamps with the time is the same on every run. */
        long epochMillis();
    }

    private static volatile Capture capture;

    private DryRun() {
    }

    /** Switches the dry run on for the rest of this JVM's life (the dry run is a process of its own). */
    public static void start(Capture c) {
        capture = c;
    }

    public static boolean on() {
        return capture != null;
    }

    /** Hands a message to the capture; only while {@link #on()}. */
    public static void sent(String sink, String text) {
        capture.sent(sink, text);
    }

    /** Now, or in a dry run the commit time of the event being routed. */
    public static long currentTimeMillis() {
        Capture c = capture;
        return c == null ? System.currentTimeMillis() : c.epochMillis();
    }

    /**
     * A stand-in for a client interface a sink talks to (a JMS session, an AMQP channel): {@code handler} answers the
     * few methods the sink uses and null for the rest (false or 0 where the method returns a primitive).
     */
    @SuppressWarnings("unchecked")
    public static <T> T standIn(Class<T> type, java.lang.reflect.InvocationHandler handler) {
        java.lang.reflect.InvocationHandler complete = (self, method, args) -> {
            switch (method.getName()) {
                case "toString":
                    if (method.getParameterCount() == 0) return "dry-run " + type.getSimpleName();
                    break;
                case "hashCode":
                    if (method.getParameterCount() == 0) return System.identityHashCode(self);
                    break;
                case "equals":
                    if (method.getParameterCount() == 1) return self == args[0];
                    break;
                default:
                    break;
            }
            Object answer = handler.invoke(self, method, args);
            Class<?> returns = method.getReturnType();
            if (answer != null || !returns.isPrimitive() || returns == void.class) return answer;
            if (returns == boolean.class) return false;
            if (returns == long.class) return 0L;
            return 0;
        };
        return (T) java.lang.reflect.Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] { type }, complete);
    }
}
