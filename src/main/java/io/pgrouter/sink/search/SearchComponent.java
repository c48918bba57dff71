package io.pgrouter.sink.search;

import java.util.Map;

import jakarta.inject.Named;
import jakarta.inject.Singleton;

import org.apache.camel.Endpoint;

import io.pgrouter.delivery.BatchBoundary;
import io.pgrouter.delivery.RetryingSinkComponent;
import io.quarkus.arc.Unremovable;

/**
 * {@code pgsearch:<name>?urls=...&index=...}: the producer behind {@code kamelets/search-index-sink.kamelet.yaml}.
 * Java because the contract needs it: bulk requests cut at the end of each source batch ({@link BatchBoundary}),
 * LSN versions, per-item outcomes of a bulk answer and the shared retry store; camel-opensearch and
 * camel-elasticsearch are each tied to one server's client.
 */
@Singleton
@Named("pgsearch")
@Unremovable
public class SearchComponent extends RetryingSinkComponent {

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        return configured(new SearchEndpoint(uri, this), parameters, SearchEndpoint::validate);
    }
}
