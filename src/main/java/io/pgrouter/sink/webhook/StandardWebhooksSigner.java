package io.pgrouter.sink.webhook;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Standard Webhooks 1.0 signatures: {@code v1,<base64 HMAC-SHA256 of "id.timestamp.body">} with the key of each
 * {@code whsec_<base64>} secret, space-separated when several secrets are active (rotation). Our own ten lines
 * rather than the reference library (com.standardwebhooks), so that the tests verify what we send with an
 * implementation we did not write.
 */
final class StandardWebhooksSigner {

    private final List<byte[]> keys;
    // one initialised Mac per key, cloned per signature: cheaper than a provider lookup and key set-up each time
    private final List<Mac> initialised = new ArrayList<>();

    private StandardWebhooksSigner(List<byte[]> keys) {
        this.keys = keys;
        for (byte[] key : keys) initialised.add(mac(key));
    }

    private static Mac mac(byte[] key) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    /** Secrets separated by spaces or commas; an empty text means unsigned. Never echoes a secret in an error. */
    static StandardWebhooksSigner of(String secrets) {
        List<byte[]> keys = new ArrayList<>();
        if (secrets != null) {
            int n = 0;
            for (String secret : secrets.trim().split("[\\s,]+")) {
                if (secret.isEmpty()) continue;
                n++;
                if (!secret.startsWith("whsec_")) {
                    throw new IllegalArgumentException("webhook secret #" + n + " does not start with whsec_ (Standard Webhooks format)");
                }
                try {
                    keys.add(Base64.getDecoder().decode(secret.substring("whsec_".length())));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("webhook secret #" + n + " is not whsec_ followed by base64");
                }
            }
        }
        return new StandardWebhooksSigner(keys);
    }

    boolean signs() {
        return !keys.isEmpty();
    }

    String signature(String id, long timestampSeconds, byte[] body) {
        byte[] prefix = (id + "." + timestampSeconds + ".").getBytes(StandardCharsets.UTF_8);
        StringBuilder signatures = new StringBuilder();
        for (int i = 0; i < keys.size(); i++) {
            Mac mac = copy(i);
            mac.update(prefix);
            mac.update(body);
            if (i > 0) signatures.append(' ');
            signatures.append("v1,").append(Base64.getEncoder().encodeToString(mac.doFinal()));
        }
        return signatures.toString();
    }

    /** A Mac of key i for this signature alone (lanes sign at the same time; a Mac is not thread-safe). */
    private Mac copy(int i) {
        try {
            return (Mac) initialised.get(i).clone();
        } catch (CloneNotSupportedException e) {
            return mac(keys.get(i));
        }
    }

    @Override
    public String toString() {
        return "StandardWebhooksSigner[" + keys.size() + " key(s)]"; // never the keys
    }
}
