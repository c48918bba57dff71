package io.pgrouter.sink.email;

import java.nio.charset.StandardCharsets;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import jakarta.mail.Address;
import jakarta.mail.AuthenticationFailedException;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Transport;
import jakarta.mail.internet.AddressException;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeBodyPart;
import jakarta.mail.internet.MimeMessage;
import jakarta.mail.internet.MimeMultipart;

import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.eclipse.angus.mail.smtp.SMTPSenderFailedException;

import com.fasterxml.jackson.databind.JsonNode;

import io.pgrouter.event.CanonicalEvent;
import io.pgrouter.delivery.DurableDelivery;
import io.pgrouter.delivery.RoutedEvent;
import io.pgrouter.delivery.Sink;
import io.pgrouter.delivery.SinkContext;
import io.pgrouter.delivery.SinkDeliveryException;

/**
 * One email per event and recipient, each recipient on their own (no one sees the others' addresses). The subject and
 * bodies are rendered once per event; a template error dead-letters the event at once. The recipients (the {@code to}
 * template and the recipients query, looked up at each attempt) that {@link SentEmails} says already got this event
 * are skipped, each accepted message is recorded. SMTP 4xx answers, a server that is down and timeouts are retried on
 * the shared delivery contract; a 5xx answer or an address that is not one refuses that recipient, the others are
 * still sent, and then the event goes to dead letters naming the refused ones (a replay sends only to those).
 */
public class EmailSink implements Sink {

    private static final String SINK = EmailConfig.SINK;

    /** Numbers as the event has them: a price of 24.50 stays 24.50 in the email. */
    private static final com.fasterxml.jackson.databind.ObjectReader EVENTS = CanonicalEvent.JSON.reader()
            .without(com.fasterxml.jackson.databind.cfg.JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES);

    private final EmailConfig config;
    private final DurableDelivery delivery;
    private final SentEmails sent;
    private final String sinkKey;
    /** One connection to the server, reused while it lasts; guarded by this. */
    private Transport transport;

    public EmailSink(EmailConfig config, SinkContext context) {
        this.config = config;
        this.sent = context.bean(SentEmails.class);
        this.sinkKey = config.sinkKey();
        this.delivery = context.delivery();
    }

    /** What every attempt for one event sends. */
    private record Email(String eventId, JsonNode event, List<String> to, String subject, String text, String html) {
    }

    @Override
    public void accept(RoutedEvent event) throws Exception {
        String json = event.json();
        Email email = prepare(json);
        delivery.deliver(json, event.subject(), event.routeId(), () -> attempt(email));
    }

    /** One attempt for an event waiting in the retry store. */
    @Override
    public void redeliver(String json) throws SinkDeliveryException, InterruptedException {
        Email email = prepare(json);
        delivery.probe(() -> attempt(email));
    }

    private Email prepare(String json) throws SinkDeliveryException {
        try {
            JsonNode event = EVENTS.readTree(json);
            String id = event.path("id").asText("");
            if (id.isEmpty()) throw new IllegalArgumentException("email-sink needs the event's id (it sends each event once): the body has none");
            List<String> to = new ArrayList<>();
            if (config.toTemplate() != null) {
                for (String r : config.toTemplate().render(event).split("[,;]")) {
                    if (!r.isBlank()) to.add(r.trim());
                }
            }
            // a header holds one line
            String subject = config.subjectTemplate().render(event).replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
            return new Email(id, event, to, subject, config.bodyTemplate() == null ? null : config.bodyTemplate().render(event),
                    config.htmlTemplate() == null ? null : config.htmlTemplate().render(event));
        } catch (IllegalArgumentException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new SinkDeliveryException(SINK, e.getMessage(), null, null, 1, e);
        }
    }

    private void attempt(Email email) throws SinkDeliveryException {
        Map<String, InternetAddress> recipients = new LinkedHashMap<>();
        List<String> refused = new ArrayList<>();
        Integer refusedStatus = null;
        List<String> candidates = new ArrayList<>(email.to());
        candidates.addAll(lookUp(email));
        for (String r : candidates) {
            try {
                InternetAddress address = new InternetAddress(r, true);
                recipients.putIfAbsent(address.getAddress(), address);
            } catch (AddressException e) {
                refused.add("'" + r + "' is not an email address");
            }
        }
        Set<String> already;
        try {
            already = sent.sentTo(sinkKey, email.eventId());
        } catch (SQLException e) {
            throw new SinkDeliveryException(SINK, "cannot read which emails were sent: " + e.getMessage(), null, null, 1, true, null, e);
        }
        for (Map.Entry<String, InternetAddress> r : recipients.entrySet()) {
            if (already.contains(r.getKey())) continue;
            try {
                send(message(email, r.getValue()), r.getValue());
            } catch (MessagingException e) {
                SinkDeliveryException failure = failure(e, r.getKey());
                if (failure.retryable()) throw failure;
                refused.add(failure.getMessage());
                refusedStatus = failure.lastStatus();
                continue;
            }
            try {
                sent.sent(sinkKey, email.eventId(), r.getKey());
            } catch (SQLException e) {
                // the window of at-least-once: the server has the message, and the retry will send it again
                throw new SinkDeliveryException(SINK, "sent to " + r.getKey() + " but could not record it: " + e.getMessage(), null, null, 1, true, null, e);
            }
        }
        if (!refused.isEmpty()) {
            throw new SinkDeliveryException(SINK, config.where() + " refused " + String.join("; ", refused), refusedStatus, null, 1, null);
        }
    }

    /** The recipients query's addresses for this event: a failing connection is retried, a broken query is not. */
    private List<String> lookUp(Email email) throws SinkDeliveryException {
        RecipientsQuery query = config.query();
        if (query == null) return List.of();
        List<String> values;
        try {
            values = query.values(email.event());
        } catch (IllegalArgumentException e) {
            throw new SinkDeliveryException(SINK, e.getMessage(), null, null, 1, e);
        }
        try {
            return sent.recipients(query.jdbc(), values);
        } catch (SQLException e) {
            // class 08 (connection), 40 (rollback), 53 (resources), 57 (shutdown): may pass; anything else is the query's fault
            String state = String.valueOf(e.getSQLState());
            boolean retryable = state.startsWith("08") || state.startsWith("40") || state.startsWith("53") || state.startsWith("57");
            throw new SinkDeliveryException(SINK, "recipientsQuery failed (" + state + "): " + e.getMessage() + " — query: " + query, null, null, 1,
                    retryable, null, e);
        }
    }

    private MimeMessage message(Email email, InternetAddress to) throws MessagingException {
        String messageId = "<" + messageId(email.eventId(), to.getAddress()) + "@" + domain(config.sender().getAddress()) + ">";
        MimeMessage m = new MimeMessage(config.session()) {
            // the same Message-ID for the same event and recipient, so a copy sent again can be recognised
            @Override
            protected void updateMessageID() throws MessagingException {
                setHeader("Message-ID", messageId);
            }
        };
        m.setFrom(config.sender());
        m.setRecipient(Message.RecipientType.TO, to);
        m.setSubject(email.subject(), "UTF-8");
        m.setSentDate(new Date());
        if (email.html() == null) {
            m.setText(email.text(), "UTF-8");
        } else if (email.text() == null) {
            m.setText(email.html(), "UTF-8", "html");
        } else {
            MimeBodyPart text = new MimeBodyPart();
            text.setText(email.text(), "UTF-8");
            MimeBodyPart html = new MimeBodyPart();
            html.setText(email.html(), "UTF-8", "html");
            m.setContent(new MimeMultipart("alternative", text, html));
        }
        return m;
    }

    private String messageId(String eventId, String recipient) {
        try {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256")
                    .digest((sinkKey + '\n' + eventId + '\n' + recipient).getBytes(StandardCharsets.UTF_8));
            return "pgrouter." + java.util.HexFormat.of().formatHex(digest, 0, 16);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String domain(String address) {
        return address.substring(address.indexOf('@') + 1);
    }

    private synchronized void send(MimeMessage message, InternetAddress to) throws MessagingException {
        message.saveChanges();
        try {
            if (transport == null || !transport.isConnected()) {
                closeTransport();
                transport = config.session().getTransport("smtp");
                transport.connect(config.getHost(), config.getPort(), blankToNull(config.getUsername()), blankToNull(config.getPassword()));
            }
            transport.sendMessage(message, new Address[] {to});
        } catch (MessagingException e) {
            closeTransport(); // the next attempt starts on a fresh connection
            throw e;
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private void closeTransport() {
        if (transport == null) return;
        try {
            transport.close();
        } catch (MessagingException ignored) {
            // discarded either way
        }
        transport = null;
    }

    /** An SMTP 5xx answer or a refused login is permanent; 4xx, a server that is down or silent, is retryable. */
    private SinkDeliveryException failure(MessagingException e, String recipient) {
        Integer code = null;
        String answer = null;
        for (Exception x = e; x != null; x = x instanceof MessagingException m ? m.getNextException() : null) {
            if (x instanceof SMTPAddressFailedException a) {
                code = a.getReturnCode();
                answer = a.getMessage();
            } else if (x instanceof SMTPSenderFailedException s) {
                code = s.getReturnCode();
                answer = s.getMessage();
            } else if (x instanceof SMTPSendFailedException s && code == null) {
                code = s.getReturnCode();
                answer = s.getMessage();
            }
        }
        String what = config.where();
        if (e instanceof AuthenticationFailedException) {
            return new SinkDeliveryException(SINK, what + " refused the login of '" + config.getUsername() + "': check username and password ("
                    + String.valueOf(e.getMessage()).trim() + ")", 535, null, 1, null);
        }
        if (code != null && code >= 500) {
            return new SinkDeliveryException(SINK, recipient + ": " + code + " " + String.valueOf(answer).trim(), code, answer, 1, null);
        }
        String message = code != null ? code + " " + String.valueOf(answer).trim() : e.getMessage() + (e.getCause() == null ? "" : " (" + e.getCause() + ")");
        return new SinkDeliveryException(SINK, what + ": " + message, code, answer, 1, true, null, e);
    }

    @Override
    public synchronized void close() {
        closeTransport();
    }
}
