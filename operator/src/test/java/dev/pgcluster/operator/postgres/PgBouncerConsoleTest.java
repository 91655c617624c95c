package dev.pgcluster.operator.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The admin console client against a real PgBouncer (the Debian package bin/install-prerequisites
 * installs): SCRAM login, SHOW rows, PAUSE/RESUME, KILL and the per-database RESUME it needs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PgBouncerConsoleTest {
  static final Path PGBOUNCER = Path.of("/usr/sbin/pgbouncer");
  static final String PASSWORD = "console-secret-1";
  Path dir;
  Process pgbouncer;
  int port;

  @BeforeAll
  void start() throws Exception {
    assertTrue(Files.isExecutable(PGBOUNCER), "PgBouncer is missing: run bin/install-prerequisites");
    dir = Files.createTempDirectory("pgbouncer-console-");
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    Files.writeString(dir.resolve("userlist.txt"), "\"admin\" \"" + PASSWORD + "\"\n");
    Files.writeString(dir.resolve("pgbouncer.ini"), String.join("\n",
        "[databases]",
        "app = host=127.0.0.1 port=1 dbname=app",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        "listen_port = " + port,
        "unix_socket_dir = " + dir,
        "auth_type = scram-sha-256",
        "auth_file = " + dir.resolve("userlist.txt"),
        "admin_users = admin",
        "") + "\n");
    List<String> command = new ArrayList<>();
    if ("root".equals(System.getProperty("user.name"))) {
      // PgBouncer refuses to run as root.
      new ProcessBuilder("chown", "-R", "postgres:postgres", dir.toString()).inheritIO().start().waitFor();
      command.addAll(List.of("setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"));
    }
    command.addAll(List.of(PGBOUNCER.toString(), dir.resolve("pgbouncer.ini").toString()));
    pgbouncer = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(dir.resolve("log").toFile()).start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      try (Socket s = new Socket("127.0.0.1", port)) {
        break;
      } catch (IOException e) {
        assertTrue(pgbouncer.isAlive() && System.nanoTime() < deadline, "PgBouncer did not start: "
            + Files.readString(dir.resolve("log")));
        Thread.sleep(50);
      }
    }
  }

  @AfterAll
  void stop() throws Exception {
    if (pgbouncer != null) {
      pgbouncer.destroy();
      pgbouncer.waitFor(10, TimeUnit.SECONDS);
    }
  }

  PgBouncerConsole console(String password) throws SQLException {
    return PgBouncerConsole.open("127.0.0.1", port, "admin", password, Duration.ofSeconds(5));
  }

  @Test
  void logsInWithScramAndReadsRows() throws Exception {
    try (PgBouncerConsole c = console(PASSWORD)) {
      var rows = c.execute("SHOW DATABASES").rows();
      assertTrue(rows.stream().anyMatch(r -> "app".equals(r.get("name")) && "127.0.0.1".equals(r.get("host"))),
          rows.toString());
      assertEquals("0", rows.stream().filter(r -> "app".equals(r.get("name"))).findFirst().orElseThrow().get("paused"));
    }
  }

  @Test
  void statisticsSumThePoolsButNotTheAdminDatabase() throws Exception {
    try (PgBouncerConsole c = console(PASSWORD)) {
      PoolerSql.PoolerStats stats = PoolerSql.stats(c);
      // This very session is a client of the admin database: not counted.
      assertEquals(new PoolerSql.PoolerStats(0, 0, 0, 0, 0, 0, 0), stats);
    }
  }

  @Test
  void aWrongPasswordIsRefused() {
    SQLException e = assertThrows(SQLException.class, () -> console("not-it"));
    assertTrue(e.getMessage().contains("authentication failed"), e.getMessage());
  }

  /** A server that lets anyone in (AuthenticationOk at once) has not proved it knows the password. */
  @Test
  void aServerThatSkipsScramIsRefused() throws Exception {
    try (ServerSocket fake = new ServerSocket(0)) {
      Thread server = new Thread(() -> {
        try (Socket s = fake.accept()) {
          var in = new java.io.DataInputStream(s.getInputStream());
          in.readFully(new byte[in.readInt() - 4]);  // the startup packet
          var out = new java.io.DataOutputStream(s.getOutputStream());
          out.writeByte('R');
          out.writeInt(8);
          out.writeInt(0);
          out.writeByte('Z');
          out.writeInt(5);
          out.writeByte('I');
          out.flush();
          s.getInputStream().read();
        } catch (IOException ignored) {
          // the client hung up
        }
      });
      server.start();
      SQLException e = assertThrows(SQLException.class, () -> PgBouncerConsole.open("127.0.0.1", fake.getLocalPort(),
          "admin", PASSWORD, Duration.ofSeconds(5)));
      assertTrue(e.getMessage().contains("before completing SCRAM"), e.getMessage());
      server.join(5000);
    }
  }

  @Test
  void anUnknownCommandIsAnErrorAndTheSessionGoesOn() throws Exception {
    try (PgBouncerConsole c = console(PASSWORD)) {
      SQLException e = assertThrows(SQLException.class, () -> c.execute("FROB"));
      assertTrue(e.getMessage().startsWith("ERROR: "), e.getMessage());
      assertEquals(1, c.execute("SHOW VERSION").rows().size());
    }
  }

  @Test
  void killThenResumeEachDatabaseAndPauseThenResume() throws Exception {
    try (PgBouncerConsole c = console(PASSWORD)) {
      PoolerSql.killAll(c);
      assertEquals("1", paused(c));
      assertEquals(1, PoolerSql.resume(c), "the killed database resumed on its own");
      assertEquals("0", paused(c));
      PoolerSql.pause(c);
      assertEquals(1, PoolerSql.resume(c), "the global pause");
      assertEquals(0, PoolerSql.resume(c), "nothing left to resume");
    }
  }

  private static String paused(PgBouncerConsole c) throws SQLException {
    return c.execute("SHOW DATABASES").rows().stream().filter(r -> "app".equals(r.get("name"))).findFirst()
        .orElseThrow().get("paused");
  }
}
