package io.pgrouter.testing;

import org.codelibs.opensearch.runner.OpenSearchRunner;

/**
 * A single OpenSearch 2.19 node, run as its own JVM by {@link OpenSearchServer} (and by bench/search.sh):
 * {@code OpenSearchNode <base dir> <http port> <transport port>}. It keeps its data under the base dir, so a
 * node stopped and started again on the same arguments has its indexes back.
 */
public final class OpenSearchNode {

    private OpenSearchNode() {
    }

    public static void main(String[] args) throws Exception {
        String base = args[0];
        String httpPort = args[1];
        String transportPort = args[2];
        OpenSearchRunner runner = new OpenSearchRunner();
        runner.onBuild((number, settings) -> settings
                .put("http.port", httpPort)
                .put("transport.port", transportPort)
                .put("network.host", "127.0.0.1")
                .put("discovery.type", "single-node")
                .put("cluster.routing.allocation.disk.threshold_enabled", false)
                .put("action.auto_create_index", true));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                runner.close();
            } catch (Exception e) {
                System.err.println("closing the node: " + e);
            }
        }));
        // disableESLogger: OpenSearch's log4j set-up would otherwise take over this JVM's standard output
        runner.build(OpenSearchRunner.newConfigs().basePath(base).numOfNode(1).clusterName("pgrouter-test").disableESLogger());
        System.out.println("OpenSearch node ready on http://127.0.0.1:" + httpPort);
        Thread.currentThread().join();
    }
}
