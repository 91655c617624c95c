package dev.pgcluster.operator.render;

import dev.pgcluster.operator.api.v1alpha1.PgCluster;
import dev.pgcluster.operator.naming.PgClusterNames;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Credentials with generated passwords. They are created once and never overwritten: the reconciler
 * only creates a Secret that does not exist.
 */
public final class SecretRenderer {
  public static final String USERNAME = "username";
  public static final String PASSWORD = "password";
  private static final String ALPHABET =
      "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  private static final int PASSWORD_LENGTH = 32;

  private SecretRenderer() {}

  public static Secret superuser(PgCluster cluster, SecureRandom random) {
    return credentials(cluster, PgClusterNames.of(cluster).superuserSecret(), PgClusterNames.SUPERUSER, random);
  }

  public static Secret replication(PgCluster cluster, SecureRandom random) {
    return credentials(
        cluster, PgClusterNames.of(cluster).replicationSecret(), PgClusterNames.REPLICATION_USER, random);
  }

  /**
   * The application owner's credentials, with ready-made connection strings for the -rw Service: host,
   * port, dbname, uri, jdbc-uri, pgpass, and fqdn-host, fqdn-uri, fqdn-jdbc-uri (the .svc name). The
   * generated password's alphabet needs no escaping in any of them.
   */
  public static Secret app(PgCluster cluster, SecureRandom random) {
    Secret secret = credentials(cluster, PgClusterNames.of(cluster).appSecret(), cluster.getSpec().bootstrap.owner, random);
    PgClusterNames names = PgClusterNames.of(cluster);
    String password = secret.getStringData().get(PASSWORD);
    String host = names.readWriteService() + "." + cluster.getMetadata().getNamespace();
    String db = cluster.getSpec().bootstrap.database;
    secret.getStringData().put("host", host);
    secret.getStringData().put("port", Integer.toString(PgClusterNames.POSTGRES_PORT));
    secret.getStringData().put("dbname", db);
    String owner = cluster.getSpec().bootstrap.owner;
    int port = PgClusterNames.POSTGRES_PORT;
    // Fully qualified: for clients in another namespace, or with no search domain for this one.
    String fqdn = host + ".svc";
    secret.getStringData().put("uri", "postgresql://" + owner + ":" + password + "@" + host + ":" + port + "/" + db);
    secret.getStringData().put("jdbc-uri", "jdbc:postgresql://" + host + ":" + port + "/" + db + "?user=" + owner
        + "&password=" + password);
    secret.getStringData().put("fqdn-host", fqdn);
    secret.getStringData().put("fqdn-uri", "postgresql://" + owner + ":" + password + "@" + fqdn + ":" + port + "/" + db);
    secret.getStringData().put("fqdn-jdbc-uri", "jdbc:postgresql://" + fqdn + ":" + port + "/" + db + "?user=" + owner
        + "&password=" + password);
    // libpq's password file format, for PGPASSFILE.
    secret.getStringData().put("pgpass", host + ":" + port + ":" + db + ":" + owner + ":" + password + "\n"
        + fqdn + ":" + port + ":" + db + ":" + owner + ":" + password + "\n");
    return secret;
  }

  static Secret credentials(PgCluster cluster, String name, String username, SecureRandom random) {
    Map<String, String> data = new LinkedHashMap<>();
    data.put(USERNAME, username);
    data.put(PASSWORD, password(random));
    return new SecretBuilder()
        .withMetadata(Owned.keptMetadata(cluster, name))
        .withType("kubernetes.io/basic-auth")
        .withStringData(data)
        .build();
  }

  static String password(SecureRandom random) {
    StringBuilder password = new StringBuilder(PASSWORD_LENGTH);
    for (int i = 0; i < PASSWORD_LENGTH; i++) {
      password.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
    }
    return password.toString();
  }
}
