package io.pgrouter.delivery;

import org.apache.camel.CamelContext;

/** The configuration of the example sink in docs/delivery.md ("How a sink is built"), compiled and tested here. */
public class AuditFileConfig extends SinkConfig {

    private String path;
    private boolean sync = true;

    @Override
    public String sink() {
        return "audit-file-sink";
    }

    @Override
    protected void validate(CamelContext camel) {
        if (blank(path)) throw new IllegalArgumentException("audit-file-sink needs path: the file to append to, e.g. path: /var/log/orders.jsonl");
    }

    @Override
    protected String identity() {
        return path;
    }

    @Override
    public String where() {
        return "file " + path;
    }

    public String getPath() { return path; }
    public void setPath(String path) { this.path = path; }
    public boolean isSync() { return sync; }
    public void setSync(boolean sync) { this.sync = sync; }
}
