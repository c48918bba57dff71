package io.pgrouter.sink.email;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;

import jakarta.mail.Address;
import jakarta.mail.Header;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Multipart;
import jakarta.mail.Part;
import jakarta.mail.Provider;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.URLName;
import jakarta.mail.internet.MimeMessage;

import io.pgrouter.delivery.DryRun;

/**
 * The email sink's SMTP transport in a dry run: the message the sink made (recipients, headers, rendered bodies)
 * goes to the capture instead of a server. The Date header (the time of sending) and the MIME boundary (random) are
 * left out, so a report is the same on every run.
 */
public final class CapturedSmtp extends Transport {

    static void install(Session session) {
        try {
            session.setProvider(new Provider(Provider.Type.TRANSPORT, "smtp", CapturedSmtp.class.getName(), "pg-event-router", null));
        } catch (jakarta.mail.NoSuchProviderException e) {
            throw new IllegalStateException(e);
        }
    }

    public CapturedSmtp(Session session, URLName url) {
        super(session, url);
    }

    @Override
    protected boolean protocolConnect(String host, int port, String user, String password) {
        return true;
    }

    @Override
    public void sendMessage(Message message, Address[] addresses) throws MessagingException {
        StringBuilder text = new StringBuilder("SMTP to");
        for (Address a : addresses) text.append(' ').append(a);
        text.append('\n');
        for (Enumeration<Header> h = ((MimeMessage) message).getAllHeaders(); h.hasMoreElements();) {
            Header header = h.nextElement();
            if (header.getName().equalsIgnoreCase("Date")) continue;
            text.append(header.getName()).append(": ").append(withoutBoundary(header.getValue())).append('\n');
        }
        try {
            body(message, text);
        } catch (IOException e) {
            throw new MessagingException("cannot read the message's body", e);
        }
        DryRun.sent(EmailConfig.SINK, text.toString());
    }

    private static void body(Part part, StringBuilder text) throws MessagingException, IOException {
        Object content = part.getContent();
        if (content instanceof Multipart multipart) {
            List<Part> parts = new ArrayList<>();
            for (int i = 0; i < multipart.getCount(); i++) parts.add(multipart.getBodyPart(i));
            for (Part p : parts) {
                text.append("\n--- part ").append(withoutBoundary(p.getContentType())).append('\n');
                body(p, text);
            }
            return;
        }
        text.append('\n').append(content).append('\n');
    }

    private static String withoutBoundary(String value) {
        return value.replaceAll(";\\s*boundary=\\S+", "");
    }
}
