package io.pgrouter.sink.search;

import java.net.URI;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import org.apache.camel.CamelContext;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.pgrouter.delivery.SinkConfig;

/**
 * The search index sink's options ({@code kamelets/search-index-sink.kamelet.yaml}): the nodes' {@code urls}, the
 * {@code index} template, the login ({@code username}/{@code password} or {@code apiKey}) and {@code caCertPath}, the
 * document's shape ({@code idColumns}, {@code includeFields}, {@code excludeFields}, {@code renameFields}), the bulk
 * limits, what a {@code truncate} does, a {@code mappingFile} for new indexes, {@code refresh} and {@code requestTimeoutMs}.
 */
public class SearchConfig extends SinkConfig {

    /** The sink's name in dead letters, retry keys and metrics. */
    static final String SINK = "search-index-sink";

    private String urls;
    private String index = "${table}";
    private String username;
    private String password;
    private String apiKey;
    private String caCertPath;
    private String idColumns;
    private String includeFields;
    private String excludeFields;
    private String renameFields;
    private int bulkMaxActions = 1000;
    private long bulkMaxBytes = 5L * 1024 * 1024;
    private String truncate = "dead-letter";
    private String mappingFile;
    private String refresh = "false";
    private long requestTimeoutMs = 30_000;

    private io.pgrouter.event.EventTemplate indexTemplate;
    private List<String> idColumnList;
    private Set<String> include;
    private Set<String> exclude;
    private Map<String, String> rename;
    private String mapping;
    private List<URI> nodes;

    @Override
    public String sink() {
        return SINK;
    }

    @Override
    protected void validate(CamelContext camel) {
        if (urls == null || urls.isBlank()) throw new IllegalArgumentException("search-index-sink needs urls");
        nodes = Arrays.stream(urls.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(u -> {
            URI parsed = URI.create(u.endsWith("/") ? u : u + "/");
            if (!"http".equals(parsed.getScheme()) && !"https".equals(parsed.getScheme())) {
                throw new IllegalArgumentException("search-index-sink urls must be http or https: " + u);
            }
            if (parsed.getUserInfo() != null) throw new IllegalArgumentException("search-index-sink urls must not carry credentials: use username/password or apiKey");
            return parsed;
        }).toList();
        if (!truncate.equals("dead-letter") && !truncate.equals("delete-by-query")) {
            throw new IllegalArgumentException("search-index-sink truncate must be dead-letter or delete-by-query, got " + truncate);
        }
        if (!refresh.equals("false") && !refresh.equals("true") && !refresh.equals("wait_for")) {
            throw new IllegalArgumentException("search-index-sink refresh must be false, true or wait_for, got " + refresh);
        }
        if (bulkMaxActions < 1) throw new IllegalArgumentException("search-index-sink bulkMaxActions must be 1 or more");
        try {
            indexTemplate = io.pgrouter.event.EventTemplate.parse(index);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("search-index-sink index: " + e.getMessage() + " in the route's search-index-sink parameters", e);
        }
        idColumnList = list(idColumns).stream().toList();
        include = list(includeFields);
        exclude = list(excludeFields);
        rename = new LinkedHashMap<>();
        for (String pair : list(renameFields)) {
            int colon = pair.indexOf(':');
            if (colon <= 0) throw new IllegalArgumentException("search-index-sink renameFields must be 'column:field,column2:field2', got " + pair);
            rename.put(pair.substring(0, colon).trim(), pair.substring(colon + 1).trim());
        }
        if (mappingFile != null && !mappingFile.isBlank()) {
            try {
                mapping = java.nio.file.Files.readString(java.nio.file.Path.of(mappingFile));
                io.pgrouter.event.CanonicalEvent.JSON.readTree(mapping);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("search-index-sink mappingFile " + mappingFile + " is not a readable JSON file: " + e.getMessage(), e);
            }
        }
        positive("requestTimeoutMs", requestTimeoutMs, 1);
        if (caCertPath != null && !caCertPath.isBlank()) SearchClient.trusting(java.nio.file.Path.of(caCertPath));
    }

    /** A client for the nodes, with the login and CA of these options. */
    SearchClient client() {
        return new SearchClient(nodes, username, password, apiKey, caCertPath, requestTimeoutMs);
    }

    private static Set<String> list(String csv) {
        if (csv == null || csv.isBlank()) return Set.of();
        return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).collect(Collectors.toCollection(java.util.LinkedHashSet::new));
    }

    /** The index for an event: the template (see {@link io.pgrouter.event.EventTemplate}) filled in, lower-cased. */
    String indexName(io.pgrouter.event.CanonicalEvent event) throws io.pgrouter.event.EventTemplate.MissingValue {
        return indexTemplate.apply(event).toLowerCase(Locale.ROOT);
    }

    /** The subject (primary key), or the values of idColumns joined by commas. */
    String documentId(String subject, ObjectNode row) {
        if (idColumnList.isEmpty()) return subject;
        if (row == null) return null;
        StringBuilder id = new StringBuilder();
        for (String column : idColumnList) {
            JsonNode value = row.get(column);
            if (value == null || value.isNull()) return null;
            if (id.length() > 0) id.append(',');
            id.append(value.asText());
        }
        return id.toString();
    }

    /** The row as a document: included fields only, excluded ones dropped, renamed ones renamed. */
    ObjectNode shape(ObjectNode row) {
        if (include.isEmpty() && exclude.isEmpty() && rename.isEmpty()) return row;
        ObjectNode doc = row.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = row.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> column = it.next();
            String name = column.getKey();
            if ((!include.isEmpty() && !include.contains(name)) || exclude.contains(name)) continue;
            doc.set(rename.getOrDefault(name, name), column.getValue());
        }
        return doc;
    }

    /** The endpoint's whole URI: it may hold a password or API key, so only its hash is ever stored. */
    @Override
    protected String identity() {
        return endpointUri();
    }

    /** The first node, as shown in logs (nodes never carry credentials: those are parameters). */
    @Override
    public String where() {
        return "search " + nodes.get(0);
    }

    @Override
    public String destination() {
        return urls;
    }

    /** Several subjects re-sent at once from the retry store: their versions make the order across subjects irrelevant. */
    @Override
    public int concurrency() {
        return 4;
    }

    String mapping() { return mapping; }

    public String getUrls() { return urls; }
    public void setUrls(String urls) { this.urls = urls; }
    public String getIndex() { return index; }
    public void setIndex(String index) { this.index = index; }
    public String getUsername() { return username; }
    public void setUsername(String username) { this.username = username; }
    public String getPassword() { return password; }
    public void setPassword(String password) { this.password = password; }
    public String getApiKey() { return apiKey; }
    public void setApiKey(String apiKey) { this.apiKey = apiKey; }
    public String getCaCertPath() { return caCertPath; }
    public void setCaCertPath(String caCertPath) { this.caCertPath = caCertPath; }
    public String getIdColumns() { return idColumns; }
    public void setIdColumns(String idColumns) { this.idColumns = idColumns; }
    public String getIncludeFields() { return includeFields; }
    public void setIncludeFields(String includeFields) { this.includeFields = includeFields; }
    public String getExcludeFields() { return excludeFields; }
    public void setExcludeFields(String excludeFields) { this.excludeFields = excludeFields; }
    public String getRenameFields() { return renameFields; }
    public void setRenameFields(String renameFields) { this.renameFields = renameFields; }
    public int getBulkMaxActions() { return bulkMaxActions; }
    public void setBulkMaxActions(int bulkMaxActions) { this.bulkMaxActions = bulkMaxActions; }
    public long getBulkMaxBytes() { return bulkMaxBytes; }
    public void setBulkMaxBytes(long bulkMaxBytes) { this.bulkMaxBytes = bulkMaxBytes; }
    public String getTruncate() { return truncate; }
    public void setTruncate(String truncate) { this.truncate = truncate; }
    public String getMappingFile() { return mappingFile; }
    public void setMappingFile(String mappingFile) { this.mappingFile = mappingFile; }
    public String getRefresh() { return refresh; }
    public void setRefresh(String refresh) { this.refresh = refresh; }
    public long getRequestTimeoutMs() { return requestTimeoutMs; }
    public void setRequestTimeoutMs(long requestTimeoutMs) { this.requestTimeoutMs = requestTimeoutMs; }
}
