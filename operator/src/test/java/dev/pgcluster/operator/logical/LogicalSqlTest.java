package dev.pgcluster.operator.logical;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LogicalSqlTest {
  @Test
  void aConnectionStringIsQuotedAndItsPasswordNeverReachesAMessage() {
    String dsn = LogicalSql.dsn("pg-rw.dc2.svc", 5432, "app", "postgres", "s3cr'et\\x");
    assertTrue(dsn.contains("password='s3cr\\'et\\\\x'"), dsn);
    // pglogical quotes the whole DSN in its connection errors.
    String error = "ERROR: could not connect to the postgresql server: connection refused\nDETAIL: dsn was: " + dsn;
    String shown = LogicalSql.withoutPasswords(error);
    assertFalse(shown.contains("s3cr"), shown);
    assertTrue(shown.contains("password=<hidden>") && shown.contains("host='pg-rw.dc2.svc'"), shown);
    assertEquals("dsn was: host=x password=<hidden> port=1",
        LogicalSql.withoutPasswords("dsn was: host=x password=plain port=1"));
  }
}
