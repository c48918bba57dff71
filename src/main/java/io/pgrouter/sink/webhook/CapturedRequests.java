package io.pgrouter.sink.webhook;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

import org.apache.hc.client5.http.impl.ChainElement;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.Header;
import org.apache.hc.core5.http.message.BasicClassicHttpResponse;
import org.apache.hc.core5.http.protocol.HttpCoreContext;
import org.apache.hc.core5.http.protocol.RequestContent;
import org.apache.hc.core5.http.protocol.RequestTargetHost;

import io.pgrouter.delivery.DryRun;

/**
 * The webhook's transport in a dry run: the client's connect step is replaced by a capture, so every request is built
 * and signed by the sink as for real, given the headers the client adds on the wire (Host, Content-Length,
 * Content-Type, by the client's own interceptors), and answered 200 without a connection.
 */
final class CapturedRequests {

    /** Differs by Java and client version, not by route: left out so a report is the same on every machine. */
    private static final String USER_AGENT = "User-Agent";

    private CapturedRequests() {
    }

    static void install(HttpClientBuilder builder) {
        builder.replaceExecInterceptor(ChainElement.CONNECT.name(), (request, scope, chain) -> {
            // what the client's transport step would add before writing the request
            HttpCoreContext context = HttpCoreContext.create();
            new RequestTargetHost().process(request, request.getEntity(), context);
            new RequestContent().process(request, request.getEntity(), context);
            DryRun.sent(WebhookConfig.SINK, describe(request));
            return new BasicClassicHttpResponse(200);
        });
    }

    static String describe(ClassicHttpRequest request) throws IOException {
        StringBuilder text = new StringBuilder();
        try {
            text.append(request.getMethod()).append(' ').append(request.getUri()).append('\n');
        } catch (java.net.URISyntaxException e) {
            throw new IOException(e);
        }
        for (Header h : request.getHeaders()) {
            if (!h.getName().equalsIgnoreCase(USER_AGENT)) text.append(h.getName()).append(": ").append(h.getValue()).append('\n');
        }
        if (request.getEntity() != null) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            request.getEntity().writeTo(body);
            text.append('\n').append(body.toString(StandardCharsets.UTF_8)).append('\n');
        }
        return text.toString();
    }
}
