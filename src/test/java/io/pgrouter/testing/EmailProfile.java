package io.pgrouter.testing;

import java.util.List;
import java.util.Map;

import io.quarkus.test.junit.QuarkusTestProfile;

/** The app with an SMTP server (GreenMail) and the email test routes only. */
public class EmailProfile implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("camel.main.routes-include-pattern", "file:src/test/routes/email/*.yaml");
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(SmtpServer.class));
    }
}
