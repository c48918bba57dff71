package io.pgrouter.delivery;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

import io.pgrouter.testing.ContractStores;

/** The real stores on empty tables and a retry worker over them, stopped after each test. */
abstract class ContractTest {

    protected ContractStores stores;
    protected RetryWorker worker;

    @BeforeEach
    void freshStores() throws Exception {
        stores = ContractStores.fresh();
        worker = new RetryWorker(stores.retries, stores.deadLetters, stores.out);
    }

    @AfterEach
    void stopWorker() {
        worker.stop();
    }
}
