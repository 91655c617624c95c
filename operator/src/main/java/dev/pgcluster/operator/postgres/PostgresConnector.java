package dev.pgcluster.operator.postgres;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;

/**
 * Opens short-lived superuser connections to one instance. Timeouts are short on purpose: a hung
 * instance must look failed to the observer within seconds, not hang a reconcile.
 */
public final class PostgresConnector {
  private final Duration connectTimeout;
  private final Duration socketTimeout;

  public PostgresConnector(Duration connectTimeout, Duration socketTimeout) {
    this.connectTimeout = connectTimeout;
    this.socketTimeout = socketTimeout;
  }

  /** How long an instance may take to accept a connection: an observation waits as long for its answer. */
  public Duration connectTimeout() {
    return connectTimeout;
  }

  public Connection connect(String host, int port, String user, String password) throws SQLException {
    return connect(host, port, "postgres", user, password);
  }

  public Connection connect(String host, int port, String database, String user, String password) throws SQLException {
    return DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + database,
        properties(user, password));
  }

  private Properties properties(String user, String password) {
    Properties props = new Properties();
    props.setProperty("user", user);
    props.setProperty("password", password);
    props.setProperty("connectTimeout", Long.toString(Math.max(1, connectTimeout.toSeconds())));
    props.setProperty("socketTimeout", Long.toString(Math.max(1, socketTimeout.toSeconds())));
    props.setProperty("loginTimeout", Long.toString(Math.max(1, connectTimeout.toSeconds())));
    props.setProperty("ApplicationName", "pgcluster-operator");
    props.setProperty("sslmode", "prefer");
    return props;
  }
}
