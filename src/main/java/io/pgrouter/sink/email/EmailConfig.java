package io.pgrouter.sink.email;

import java.util.Properties;

import jakarta.mail.Session;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;

import org.apache.camel.CamelContext;

import io.pgrouter.delivery.SinkConfig;

/**
 * The email sink's options ({@code kamelets/email-sink.kamelet.yaml}): the SMTP {@code host}, {@code port},
 * {@code security} (starttls, tls or none) and login, the sender {@code from}, the recipients ({@code to} and/or a
 * {@code recipientsQuery}), the Qute templates {@code subject}, {@code body} and {@code htmlBody}, and {@code timeoutMs}.
 */
public class EmailConfig extends SinkConfig {

    /** The sink's name in dead letters, retry keys and metrics. */
    static final String SINK = "email-sink";

    private String host;
    private int port = 587;
    private String security = "starttls";
    private String username;
    private String password;
    private String from;
    private String to;
    private String recipientsQuery;
    private String subject;
    private String body;
    private String htmlBody;
    private long timeoutMs = 30_000;

    private InternetAddress sender;
    private EmailTemplate toTemplate;
    private EmailTemplate subjectTemplate;
    private EmailTemplate bodyTemplate;
    private EmailTemplate htmlTemplate;
    private RecipientsQuery query;
    private Session session;

    @Override
    public String sink() {
        return SINK;
    }

    @Override
    protected void validate(CamelContext camel) {
        if (blank(host)) throw new IllegalArgumentException("email-sink needs host: the SMTP server's name, e.g. host: smtp.example.com");
        if (port < 1 || port > 65535) throw new IllegalArgumentException("email-sink port must be 1 to 65535 (587 for starttls, 465 for tls), got " + port);
        if (!security.equals("none") && !security.equals("starttls") && !security.equals("tls")) {
            throw new IllegalArgumentException("email-sink security must be starttls (port 587), tls (port 465) or none, got " + security);
        }
        if (blank(from)) throw new IllegalArgumentException("email-sink needs from: the sender's address, e.g. from: shop@example.com");
        try {
            sender = new InternetAddress(from, true);
        } catch (AddressException e) {
            throw new IllegalArgumentException("email-sink from is not an email address: '" + from + "' (" + e.getMessage() + ")", e);
        }
        if (blank(to) && blank(recipientsQuery)) {
            throw new IllegalArgumentException("email-sink needs to (addresses or a template such as {data.after.email}) or recipientsQuery, or both");
        }
        if (blank(subject)) throw new IllegalArgumentException("email-sink needs subject: a template such as 'Welcome, {data.after.name}'");
        if (blank(body) && blank(htmlBody)) throw new IllegalArgumentException("email-sink needs body (text) or htmlBody, or both");
        toTemplate = blank(to) ? null : EmailTemplate.parse("to", to, false);
        subjectTemplate = EmailTemplate.parse("subject", subject, false);
        bodyTemplate = blank(body) ? null : EmailTemplate.parse("body", text(camel, "body", body), false);
        htmlTemplate = blank(htmlBody) ? null : EmailTemplate.parse("htmlBody", text(camel, "htmlBody", htmlBody), true);
        query = RecipientsQuery.parse(recipientsQuery);
        if (timeoutMs < 1) throw new IllegalArgumentException("email-sink timeoutMs must be 1 or more, got " + timeoutMs);
        Properties p = new Properties();
        p.setProperty("mail.smtp.host", host);
        p.setProperty("mail.smtp.port", Integer.toString(port));
        p.setProperty("mail.smtp.from", sender.getAddress());
        p.setProperty("mail.smtp.auth", Boolean.toString(!blank(username)));
        for (String timeout : new String[] {"connectiontimeout", "timeout", "writetimeout"}) p.setProperty("mail.smtp." + timeout, Long.toString(timeoutMs));
        if (security.equals("starttls")) {
            // required: a server that does not offer STARTTLS is refused rather than sent the password in clear
            p.setProperty("mail.smtp.starttls.enable", "true");
            p.setProperty("mail.smtp.starttls.required", "true");
        } else if (security.equals("tls")) {
            p.setProperty("mail.smtp.ssl.enable", "true");
        }
        if (!security.equals("none")) p.setProperty("mail.smtp.ssl.checkserveridentity", "true");
        session = Session.getInstance(p);
        // bin/pgrouter routes test: the session's SMTP transport hands each message to the capture
        if (io.pgrouter.delivery.DryRun.on()) CapturedSmtp.install(session);
    }

    /**
     * A body given inline, or read from {@code file:<path>} or {@code classpath:<path>}: Camel joins the lines of an
     * endpoint parameter into one, so a body of several lines lives in a file.
     */
    private static String text(CamelContext camel, String name, String value) {
        if (!value.startsWith("file:") && !value.startsWith("classpath:")) return value;
        try (java.io.InputStream in = org.apache.camel.support.ResourceHelper.resolveMandatoryResourceAsInputStream(camel, value)) {
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException("email-sink " + name + " " + value + " cannot be read (" + e.getMessage()
                    + "): give a file path relative to the router's working folder, or an absolute one", e);
        }
    }

    /** The endpoint's whole URI (it holds the password): the key of the retry store and of sent emails. */
    @Override
    protected String identity() {
        return endpointUri();
    }

    /** The server as shown in logs, health and metrics. */
    @Override
    public String where() {
        return "smtp " + host + ":" + port;
    }

    InternetAddress sender() { return sender; }
    EmailTemplate toTemplate() { return toTemplate; }
    EmailTemplate subjectTemplate() { return subjectTemplate; }
    EmailTemplate bodyTemplate() { return bodyTemplate; }
    EmailTemplate htmlTemplate() { return htmlTemplate; }
    RecipientsQuery query() { return query; }
    Session session() { return session; }

    public String getHost() { return host; }
    public void setHost(String host) { this.host = host; }
    public int getPort() { return port; }
    public void setPort(int port) { this.port = port; }
    public String getSecurity() { return security; }
    public void setSecurity(String security) { this.security = security; }
    public String getUsername() { return username; }
    public void setUsername(String username) { this.username = username; }
    public String getPassword() { return password; }
    public void setPassword(String password) { this.password = password; }
    public String getFrom() { return from; }
    public void setFrom(String from) { this.from = from; }
    public String getTo() { return to; }
    public void setTo(String to) { this.to = to; }
    public String getRecipientsQuery() { return recipientsQuery; }
    public void setRecipientsQuery(String recipientsQuery) { this.recipientsQuery = recipientsQuery; }
    public String getSubject() { return subject; }
    public void setSubject(String subject) { this.subject = subject; }
    public String getBody() { return body; }
    public void setBody(String body) { this.body = body; }
    public String getHtmlBody() { return htmlBody; }
    public void setHtmlBody(String htmlBody) { this.htmlBody = htmlBody; }
    public long getTimeoutMs() { return timeoutMs; }
    public void setTimeoutMs(long timeoutMs) { this.timeoutMs = timeoutMs; }
}
