package io.pgrouter.sink.search;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.delivery.DeliveryBatch;
import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.RoutedEvent;
import io.pgrouter.delivery.Sink;
import io.pgrouter.delivery.SinkContext;
import io.pgrouter.delivery.SinkDeliveryException;
import io.pgrouter.delivery.SourceBuffers;

/**
 * Keeps a route's events in a {@code _bulk} request, sent when it reaches bulkMaxActions or bulkMaxBytes and at the
 * latest at the end of the source batch. Every write carries the change's LSN as an external version, so a replayed
 * or late event is answered 409 and changes nothing (409 counts as delivered). An update is written whole after
 * taking the fields it lacks (unchanged TOAST columns) from the stored document, read with {@code _mget} just
 * before: a partial {@code update} cannot carry an external version. Items answered 429/5xx are retried in-line,
 * then wait in the retry store; items the index rejects (a mapping error) go to dead letters with the reason; the
 * other items of the bulk are never held back.
 */
public class SearchSink implements Sink {

    private static final Logger LOG = Logger.getLogger(SearchSink.class);
    private static final String SINK = SearchConfig.SINK;

    private final SearchConfig config;
    private final SearchClient client;
    private final DurableDelivery delivery;
    /** The bulk each source is filling, sent at that source's batch end. */
    private final SourceBuffers<Bulk> bulks = new SourceBuffers<>(Bulk::new);
    /** Indexes known to exist (checked once when a mapping file bootstraps them). */
    private final Set<String> ensured = ConcurrentHashMap.newKeySet();
    private final String bulkPath;

    public SearchSink(SearchConfig config, SinkContext context) {
        this.config = config;
        this.client = config.client();
        this.delivery = context.delivery();
        this.bulkPath = "_bulk?refresh=" + config.getRefresh() + "&filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason";
    }

    @Override
    public void accept(RoutedEvent event) throws Exception {
        String json = event.json();
        SearchAction action = action(json, event.routeId());
        if (action.kind() == SearchAction.Kind.TRUNCATE) {
            truncate(action);
            return;
        }
        synchronized (this) {
            Bulk bulk = bulks.mine();
            bulk.actions.add(action);
            bulk.bytes += json.length();
            if (bulk.actions.size() >= config.getBulkMaxActions() || bulk.bytes >= config.getBulkMaxBytes()) sendBuffered();
        }
    }

    private static final class Bulk {
        final List<SearchAction> actions = new ArrayList<>();
        long bytes;
    }

    private SearchAction action(String json, String routeId) throws SinkDeliveryException {
        try {
            return SearchAction.of(json, routeId, config);
        } catch (IllegalArgumentException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new SinkDeliveryException(SINK, e.getMessage(), null, null, 1, e);
        }
    }

    /**
     * Sends the calling source's bulk: at the end of its batch, and whenever the bulk is full. When an event can be
     * neither written, stored for a retry nor dead-lettered, the bulk is held again and this throws: the source keeps
     * its position before those events.
     */
    @Override
    public long flush(boolean everything) throws Exception {
        sendBuffered();
        return Long.MAX_VALUE;
    }

    private synchronized void sendBuffered() throws Exception {
        bulks.discardEnded(b -> b.actions.clear());
        Bulk bulk = bulks.mineIfAny();
        if (bulk == null || bulk.actions.isEmpty()) return;
        List<SearchAction> batch = List.copyOf(bulk.actions);
        long bytes = bulk.bytes;
        bulk.actions.clear();
        bulk.bytes = 0;
        try {
            send(batch);
        } catch (Exception e) {
            bulk.actions.addAll(0, batch);
            bulk.bytes += bytes;
            throw e;
        }
    }

    /** One bulk on the shared contract: queued behind waiting events or parked while the cluster is down, then {@link DurableDelivery#deliverBatch}. */
    private void send(List<SearchAction> actions) throws Exception {
        List<SearchAction> todo = delivery.admitted(actions);
        // parked at the batch end, not while their events were routed: written now, never left to linger
        delivery.writeParked();
        delivery.deliverBatch(new DeliveryBatch<>(todo), this::attempt);
    }

    /** One attempt for an event waiting in the retry store: a bulk of one. */
    @Override
    public void redeliver(String json) throws SinkDeliveryException, InterruptedException {
        SearchAction action = action(json, null);
        if (action.kind() == SearchAction.Kind.TRUNCATE) {
            deleteAll(action.index());
            return;
        }
        delivery.redeliver(new DeliveryBatch<>(List.of(action)), this::attempt);
    }

    /**
     * Sends the remaining items of the bulk; keeps those answered with a retryable status and throws a retryable
     * failure while some remain; items the index rejects (a mapping error) are refused for good.
     */
    private void attempt(DeliveryBatch<SearchAction> batch) throws SinkDeliveryException, InterruptedException {
        List<SearchAction> remaining = batch.remaining();
        for (SearchAction a : remaining) ensureIndex(a.index());
        List<SearchAction> writes = resolveMerges(remaining);
        if (writes.isEmpty()) {
            batch.delivered();
            return;
        }
        StringBuilder body = new StringBuilder(writes.size() * 256);
        for (SearchAction a : writes) bulkLines(a, body);
        SearchClient.Answer answer = client.call("POST", bulkPath, body.toString(), "application/x-ndjson");
        if (answer.status() / 100 != 2) {
            throw new SinkDeliveryException(SINK, "bulk request refused: " + answer.status(), answer.status(), SearchClient.excerpt(answer.body()), 1, null);
        }
        JsonNode response = readJson(answer.body());
        List<SearchAction> retry = new ArrayList<>();
        SinkDeliveryException retryable = null;
        if (response.path("errors").asBoolean(false)) {
            JsonNode items = response.path("items");
            for (int i = 0; i < writes.size(); i++) {
                SearchAction a = writes.get(i);
                JsonNode item = items.path(i).elements().hasNext() ? items.path(i).elements().next() : null;
                int status = item == null ? 500 : item.path("status").asInt(500);
                if (status / 100 == 2 || status == 409 || (status == 404 && a.kind() == SearchAction.Kind.DELETE)) continue;
                JsonNode error = item == null ? null : item.path("error");
                String reason = error == null || error.isMissingNode() ? "status " + status
                        : error.path("type").asText() + ": " + error.path("reason").asText();
                SearchAction original = original(remaining, a);
                if (SearchClient.retryable(status)) {
                    retry.add(original);
                    retryable = new SinkDeliveryException(SINK, "index " + a.index() + " answered " + status + " (" + reason + ")", status, reason, 1,
                            true, null, null);
                } else {
                    batch.reject(original, new SinkDeliveryException(SINK, "index " + a.index() + " rejected document " + a.id() + ": " + reason, status,
                            SearchClient.excerpt(reason), 1, null));
                }
            }
        }
        batch.onlyLeft(retry);
        if (retryable != null) throw retryable;
    }

    /** The action of the batch a write was made from (a merged update is a new action carrying the same event). */
    private static SearchAction original(List<SearchAction> remaining, SearchAction write) {
        for (SearchAction a : remaining) {
            if (a == write || (a.json() == write.json() && a.routeId() == write.routeId())) return a;
        }
        return write;
    }

    /**
     * Updates become whole documents: the fields an update lacks come from the previous write of the same document in
     * this bulk, or else from the stored document (one {@code _mget} for all of them). An update older than the
     * stored document is left out (it would be refused with 409 anyway).
     */
    private List<SearchAction> resolveMerges(List<SearchAction> actions) throws SinkDeliveryException, InterruptedException {
        Map<String, SearchAction> firstTouch = new LinkedHashMap<>();
        for (SearchAction a : actions) firstTouch.putIfAbsent(a.key(), a);
        List<SearchAction> lookups = firstTouch.values().stream().filter(a -> a.kind() == SearchAction.Kind.MERGE).toList();
        if (lookups.isEmpty()) return actions;
        Map<String, JsonNode> stored = storedDocuments(lookups);
        Map<String, ObjectNode> latest = new HashMap<>();
        List<SearchAction> writes = new ArrayList<>(actions.size());
        for (SearchAction a : actions) {
            switch (a.kind()) {
                case INDEX -> {
                    latest.put(a.key(), a.doc());
                    writes.add(a);
                }
                case DELETE -> {
                    latest.put(a.key(), null);
                    writes.add(a);
                }
                case MERGE -> {
                    ObjectNode base;
                    if (latest.containsKey(a.key())) {
                        base = latest.get(a.key());
                    } else {
                        JsonNode found = stored.get(a.key());
                        base = found == null ? null : (ObjectNode) found.get("_source");
                        if (found != null && a.version() != null && found.path("_version").asLong() >= a.version()) {
                            latest.put(a.key(), base); // the stored document is newer: this update changes nothing
                            continue;
                        }
                    }
                    SearchAction whole = base == null ? a.withDoc(a.doc()) : a.withDoc(a.mergedWith(base));
                    latest.put(a.key(), whole.doc());
                    writes.add(whole);
                }
                default -> throw new IllegalStateException("a truncate is never in a bulk");
            }
        }
        return writes;
    }

    /** The stored documents (with their versions) for these actions' ids, by key; missing ones are left out. */
    private Map<String, JsonNode> storedDocuments(List<SearchAction> actions) throws SinkDeliveryException, InterruptedException {
        ObjectNode request = CanonicalEvent.JSON.createObjectNode();
        ArrayNode docs = request.putArray("docs");
        for (SearchAction a : actions) docs.addObject().put("_index", a.index()).put("_id", a.id());
        SearchClient.Answer answer = client.call("POST", "_mget", request.toString(), "application/json");
        if (answer.status() / 100 != 2) {
            throw new SinkDeliveryException(SINK, "reading stored documents refused: " + answer.status(), answer.status(),
                    SearchClient.excerpt(answer.body()), 1, null);
        }
        Map<String, JsonNode> found = new HashMap<>();
        for (JsonNode doc : readJson(answer.body()).path("docs")) {
            // a missing index is an error item: nothing stored
            if (doc.path("found").asBoolean(false)) found.put(doc.path("_index").asText() + '\n' + doc.path("_id").asText(), doc);
        }
        return found;
    }

    private static void bulkLines(SearchAction a, StringBuilder body) {
        ObjectNode meta = CanonicalEvent.JSON.createObjectNode();
        ObjectNode target = meta.putObject(a.kind() == SearchAction.Kind.DELETE ? "delete" : "index");
        target.put("_index", a.index()).put("_id", a.id());
        if (a.version() != null) target.put("version", a.version()).put("version_type", "external");
        body.append(meta).append('\n');
        if (a.kind() == SearchAction.Kind.DELETE) return;
        try {
            body.append(CanonicalEvent.JSON.writeValueAsString(a.doc())).append('\n'); // numbers exactly as the event has them
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** With a mapping file: creates the index with it the first time the index is written to, unless it exists. */
    private void ensureIndex(String index) throws SinkDeliveryException, InterruptedException {
        if (config.mapping() == null || ensured.contains(index)) return;
        SearchClient.Answer exists = client.call("HEAD", encode(index), null, null);
        if (exists.status() == 404) {
            SearchClient.Answer created = client.call("PUT", encode(index), config.mapping(), "application/json");
            if (created.status() / 100 != 2 && !String.valueOf(created.body()).contains("resource_already_exists_exception")) {
                throw new SinkDeliveryException(SINK, "could not create index " + index + " with " + config.getMappingFile() + ": " + created.status(),
                        created.status(), SearchClient.excerpt(created.body()), 1, null);
            }
            LOG.infof("created search index %s with mapping file %s", index, config.getMappingFile());
        } else if (exists.status() / 100 != 2) {
            throw new SinkDeliveryException(SINK, "could not check index " + index + ": " + exists.status(), exists.status(), null, 1, null);
        }
        ensured.add(index);
    }

    /**
     * truncate=delete-by-query: after the events before it are written, deletes every document of the index (a
     * refresh first, so documents just written are found). Otherwise the truncate goes to dead letters, saying so.
     */
    private void truncate(SearchAction action) throws Exception {
        if (!"delete-by-query".equals(config.getTruncate())) {
            throw new SinkDeliveryException(SINK, "truncate not applied to index " + action.index()
                    + ": the search-index-sink empties an index on truncate only with truncate=delete-by-query", null, null, 1, null);
        }
        sendBuffered();
        SinkDeliveryException last = delivery.inline(() -> deleteAll(action.index()));
        if (last != null) throw last; // not parked: a truncate retried later would delete rows written after it
        delivery.delivered(action.routeId());
    }

    private void deleteAll(String index) throws SinkDeliveryException, InterruptedException {
        SearchClient.Answer refreshed = client.call("POST", encode(index) + "/_refresh", null, null);
        if (refreshed.status() == 404) return;
        SearchClient.Answer answer = client.call("POST", encode(index) + "/_delete_by_query?conflicts=proceed&refresh=true",
                "{\"query\":{\"match_all\":{}}}", "application/json");
        if (answer.status() / 100 != 2 && answer.status() != 404) {
            throw new SinkDeliveryException(SINK, "delete-by-query on " + index + " refused: " + answer.status(), answer.status(),
                    SearchClient.excerpt(answer.body()), 1, null);
        }
        LOG.infof("truncate: deleted every document of search index %s", index);
    }

    private static String encode(String index) {
        return java.net.URLEncoder.encode(index, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static JsonNode readJson(String body) throws SinkDeliveryException {
        try {
            return CanonicalEvent.JSON.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new SinkDeliveryException(SINK, "search answer is not JSON: " + e.getMessage(), null, SearchClient.excerpt(body), 1, true, null, e);
        }
    }

    /** The JDK's HTTP client of Java 17 has nothing to close: its connections go when it is collected. */
    @Override
    public void close() {
    }
}
