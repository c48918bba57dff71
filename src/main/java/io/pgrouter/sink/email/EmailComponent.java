package io.pgrouter.sink.email;

import java.util.Map;

import jakarta.inject.Inject;
import jakarta.inject.Named;
import jakarta.inject.Singleton;

import org.apache.camel.Endpoint;

import io.pgrouter.delivery.RetryingSinkComponent;
import io.quarkus.arc.Unremovable;

/**
 * {@code pgemail:<name>?host=...&from=...&to=...&subject=...&body=...}: the producer behind
 * {@code kamelets/email-sink.kamelet.yaml}. Java because the contract needs it: an email per event and recipient sent
 * at most once per event id ({@link SentEmails}), recipients from a query, SMTP answers sorted into retryable (4xx, a
 * server that is down) and permanent (5xx, an address that is not one), and the shared retry store and dead letters.
 */
@Singleton
@Named("pgemail")
@Unremovable
public class EmailComponent extends RetryingSinkComponent {

    @Inject
    SentEmails sent;

    // every email is sent while its event is routed: nothing is held until the end of the source batch
    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        return configured(new EmailEndpoint(uri, this), parameters, EmailEndpoint::validate);
    }

    SentEmails sent() {
        return sent;
    }
}
