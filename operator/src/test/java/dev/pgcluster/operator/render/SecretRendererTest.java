package dev.pgcluster.operator.render;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Secret;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

class SecretRendererTest {
  private final SecureRandom random = new SecureRandom();

  @Test
  void generatesStrongDistinctPasswords() {
    Secret a = SecretRenderer.superuser(TestClusters.cluster("pg", 3), random);
    Secret b = SecretRenderer.replication(TestClusters.cluster("pg", 3), random);
    String pa = a.getStringData().get("password");
    assertEquals(32, pa.length());
    assertTrue(pa.chars().allMatch(Character::isLetterOrDigit));
    assertNotEquals(pa, b.getStringData().get("password"));
    assertEquals("postgres", a.getStringData().get("username"));
    assertEquals("replication", b.getStringData().get("username"));
  }

  @Test
  void appSecretCarriesAConnectionUriForTheReadWriteService() {
    Secret app = SecretRenderer.app(TestClusters.cluster("pg", 3), random);
    String uri = app.getStringData().get("uri");
    assertTrue(uri.startsWith("postgresql://app:"), uri);
    assertTrue(uri.endsWith("@pg-rw.db:5432/app"), uri);
    String password = app.getStringData().get("password");
    assertEquals("jdbc:postgresql://pg-rw.db:5432/app?user=app&password=" + password, app.getStringData().get("jdbc-uri"));
    assertEquals("pg-rw.db.svc", app.getStringData().get("fqdn-host"));
    assertEquals("postgresql://app:" + password + "@pg-rw.db.svc:5432/app", app.getStringData().get("fqdn-uri"));
    assertEquals("jdbc:postgresql://pg-rw.db.svc:5432/app?user=app&password=" + password,
        app.getStringData().get("fqdn-jdbc-uri"));
    assertEquals("pg-rw.db:5432:app:app:" + password + "\npg-rw.db.svc:5432:app:app:" + password + "\n",
        app.getStringData().get("pgpass"));
  }
}
