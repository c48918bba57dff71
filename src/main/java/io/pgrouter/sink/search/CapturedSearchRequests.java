package io.pgrouter.sink.search;

import java.net.URI;

import io.pgrouter.delivery.DryRun;

/**
 * The search sink's transport in a dry run: each request (bulk actions and documents, index checks, reads of stored
 * documents) goes to the capture, and is answered as an empty cluster would: no index yet (so an index with a mapping
 * file is shown created), every write succeeds, a read finds nothing (so a partial update is shown merged into nothing).
 */
final class CapturedSearchRequests {

    private CapturedSearchRequests() {
    }

    static SearchClient.Answer call(String method, URI uri, String body, String contentType, String authorization) {
        StringBuilder text = new StringBuilder().append(method).append(' ').append(uri).append('\n');
        if (body != null) text.append("Content-Type: ").append(contentType).append('\n');
        // the scheme, never the credential
        if (authorization != null) text.append("Authorization: ").append(authorization, 0, authorization.indexOf(' ')).append(" ***\n");
        if (body != null) text.append('\n').append(body.endsWith("\n") ? body : body + "\n");
        DryRun.sent(SearchConfig.SINK, text.toString());
        String path = uri.getPath();
        if (path.endsWith("/_mget")) return new SearchClient.Answer(200, "{\"docs\":[]}");
        if (path.endsWith("/_bulk")) return new SearchClient.Answer(200, "{\"errors\":false}");
        if (method.equals("HEAD")) return new SearchClient.Answer(404, null);
        return new SearchClient.Answer(200, "{}");
    }
}
