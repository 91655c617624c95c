package dev.pgcluster.operator.postgres;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A session on PgBouncer's admin console (database {@code pgbouncer}), speaking the PostgreSQL
 * protocol's simple queries with SCRAM-SHA-256 login. Not JDBC: the driver (42.7.5 and later) sends
 * {@code SET extra_float_digits} after logging in, which the console refuses before PgBouncer 1.26
 * ("SET failed"), so no JDBC connection to it can be opened.
 */
public final class PgBouncerConsole implements AutoCloseable {
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The rows of a SHOW command, each column by name, as text. */
  public record Rows(List<Map<String, String>> rows) {}

  private final Socket socket;
  private final DataInputStream in;
  private final DataOutputStream out;

  private PgBouncerConsole(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new DataInputStream(new java.io.BufferedInputStream(socket.getInputStream()));
    // Buffered, flushed once per message: PgBouncer 1.18 refuses a startup packet split across segments.
    this.out = new DataOutputStream(new java.io.BufferedOutputStream(socket.getOutputStream()));
  }

  public static PgBouncerConsole open(String host, int port, String user, String password, Duration timeout)
      throws SQLException {
    Socket socket = new Socket();
    try {
      socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
      socket.setSoTimeout((int) timeout.toMillis());
      PgBouncerConsole console = new PgBouncerConsole(socket);
      console.login(user, password);
      return console;
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      // RuntimeException: a reply that does not parse (a number, a SCRAM field) closes the socket too.
      close(socket);
      throw new SQLException("PgBouncer console at " + host + ":" + port + ": " + e, "08001", e);
    } catch (SQLException e) {
      close(socket);
      throw e;
    }
  }

  /** A command (PAUSE, RESUME, KILL db, SHOW ...): its rows, or an SQLException with the console's error. */
  public Rows execute(String command) throws SQLException {
    try {
      byte[] text = (command + "\0").getBytes(StandardCharsets.UTF_8);
      out.writeByte('Q');
      out.writeInt(4 + text.length);
      out.write(text);
      out.flush();
      List<String> columns = new ArrayList<>();
      List<Map<String, String>> rows = new ArrayList<>();
      SQLException error = null;
      while (true) {
        int type = in.readUnsignedByte();
        byte[] body = body();
        switch (type) {
          case 'T' -> columns = columnNames(body);
          case 'D' -> rows.add(row(columns, body));
          case 'E' -> error = error(body);
          case 'Z' -> {
            if (error != null) {
              throw error;
            }
            return new Rows(rows);
          }
          default -> { }  // CommandComplete, notices, parameter status
        }
      }
    } catch (IOException e) {
      throw new SQLException("PgBouncer console: " + command + ": " + e.getMessage(), "08006", e);
    }
  }

  @Override
  public void close() {
    try {
      out.writeByte('X');
      out.writeInt(4);
      out.flush();
    } catch (IOException ignored) {
      // closing anyway
    }
    close(socket);
  }

  private void login(String user, String password) throws IOException, GeneralSecurityException, SQLException {
    byte[] params = ("user\0" + user + "\0database\0pgbouncer\0application_name\0pgcluster-operator\0\0")
        .getBytes(StandardCharsets.UTF_8);
    out.writeInt(8 + params.length);
    out.writeInt(196608);  // protocol 3.0
    out.write(params);
    out.flush();
    Scram scram = null;
    boolean serverVerified = false;
    while (true) {
      int type = in.readUnsignedByte();
      byte[] body = body();
      if (type == 'E') {
        throw error(body);
      }
      if (type == 'Z') {
        if (!serverVerified) {
          throw new SQLException("PgBouncer console let us in without proving it knows the password (no SCRAM)",
              "28000");
        }
        return;
      }
      if (type != 'R') {
        continue;
      }
      int code = ((body[0] & 0xff) << 24) | ((body[1] & 0xff) << 16) | ((body[2] & 0xff) << 8) | (body[3] & 0xff);
      String data = new String(body, 4, body.length - 4, StandardCharsets.UTF_8);
      switch (code) {
        case 0 -> {
          // Authenticated; parameters and ReadyForQuery follow. Only after the server's own SCRAM proof.
          if (scram == null || !scram.verified()) {
            throw new SQLException("PgBouncer console sent AuthenticationOk before completing SCRAM", "28000");
          }
          serverVerified = true;
        }
        case 10 -> {
          if (!data.contains("SCRAM-SHA-256")) {
            throw new SQLException("PgBouncer console offers no SCRAM-SHA-256 (" + data.replace('\0', ' ') + ")", "28000");
          }
          scram = new Scram(password);
          byte[] mechanism = "SCRAM-SHA-256\0".getBytes(StandardCharsets.UTF_8);
          byte[] first = scram.clientFirst().getBytes(StandardCharsets.UTF_8);
          out.writeByte('p');
          out.writeInt(4 + mechanism.length + 4 + first.length);
          out.write(mechanism);
          out.writeInt(first.length);
          out.write(first);
          out.flush();
        }
        case 11 -> {
          if (scram == null) {
            throw new SQLException("PgBouncer console sent a SCRAM challenge before SCRAM began", "28000");
          }
          byte[] reply = scram.clientFinal(data).getBytes(StandardCharsets.UTF_8);
          out.writeByte('p');
          out.writeInt(4 + reply.length);
          out.write(reply);
          out.flush();
        }
        case 12 -> {
          if (scram == null) {
            throw new SQLException("PgBouncer console sent a SCRAM result before SCRAM began", "28000");
          }
          scram.verifyServer(data);
        }
        default -> throw new SQLException("PgBouncer console asks for authentication method " + code
            + ", which this client does not speak", "28000");
      }
    }
  }

  /** Longer than any console reply (SHOW rows are short): a bigger length is a broken stream. */
  private static final int LONGEST_MESSAGE = 16 << 20;

  private byte[] body() throws IOException {
    int length = in.readInt();
    if (length < 4 || length > LONGEST_MESSAGE) {
      throw new IOException("PgBouncer console: a message of " + length + " bytes");
    }
    byte[] body = new byte[length - 4];
    in.readFully(body);
    return body;
  }

  private static List<String> columnNames(byte[] body) {
    List<String> names = new ArrayList<>();
    int count = ((body[0] & 0xff) << 8) | (body[1] & 0xff);
    int at = 2;
    for (int i = 0; i < count; i++) {
      int end = at;
      while (body[end] != 0) {
        end++;
      }
      names.add(new String(body, at, end - at, StandardCharsets.UTF_8));
      at = end + 1 + 18;  // table oid, column, type oid, size, modifier, format
    }
    return names;
  }

  private static Map<String, String> row(List<String> columns, byte[] body) {
    Map<String, String> row = new LinkedHashMap<>();
    int count = ((body[0] & 0xff) << 8) | (body[1] & 0xff);
    int at = 2;
    for (int i = 0; i < count; i++) {
      int length = ((body[at] & 0xff) << 24) | ((body[at + 1] & 0xff) << 16) | ((body[at + 2] & 0xff) << 8)
          | (body[at + 3] & 0xff);
      at += 4;
      String value = length < 0 ? null : new String(body, at, length, StandardCharsets.UTF_8);
      at += Math.max(length, 0);
      row.put(i < columns.size() ? columns.get(i) : Integer.toString(i), value);
    }
    return row;
  }

  private static SQLException error(byte[] body) {
    String message = "";
    String state = null;
    int at = 0;
    while (at < body.length && body[at] != 0) {
      char field = (char) body[at];
      int end = at + 1;
      while (body[end] != 0) {
        end++;
      }
      String value = new String(body, at + 1, end - at - 1, StandardCharsets.UTF_8);
      if (field == 'M') {
        message = value;
      } else if (field == 'C') {
        state = value;
      }
      at = end + 1;
    }
    return new SQLException("ERROR: " + message, state);
  }

  private static void close(Socket socket) {
    try {
      socket.close();
    } catch (IOException ignored) {
      // nothing more to do
    }
  }

  /** The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677), without channel binding. */
  static final class Scram {
    private final String password;
    private final String clientNonce;
    private String clientFirstBare;
    private byte[] saltedPassword;
    private String authMessage;
    private boolean verified;

    Scram(String password) {
      this(password, nonce());
    }

    Scram(String password, String clientNonce) {
      this.password = password;
      this.clientNonce = clientNonce;
    }

    String clientFirst() {
      clientFirstBare = "n=,r=" + clientNonce;
      return "n,," + clientFirstBare;
    }

    String clientFinal(String serverFirst) throws GeneralSecurityException, SQLException {
      Map<Character, String> fields = fields(serverFirst);
      String nonce = fields.get('r');
      if (nonce == null || !nonce.startsWith(clientNonce) || fields.get('s') == null || fields.get('i') == null) {
        throw new SQLException("PgBouncer console: unexpected SCRAM challenge", "28000");
      }
      byte[] salt = Base64.getDecoder().decode(fields.get('s'));
      int iterations = Integer.parseInt(fields.get('i'));
      saltedPassword = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
          .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, 256)).getEncoded();
      String withoutProof = "c=biws,r=" + nonce;
      authMessage = clientFirstBare + "," + serverFirst + "," + withoutProof;
      byte[] clientKey = hmac(saltedPassword, "Client Key");
      byte[] storedKey = MessageDigest.getInstance("SHA-256").digest(clientKey);
      byte[] signature = hmac(storedKey, authMessage);
      byte[] proof = new byte[clientKey.length];
      for (int i = 0; i < proof.length; i++) {
        proof[i] = (byte) (clientKey[i] ^ signature[i]);
      }
      return withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof);
    }

    void verifyServer(String serverFinal) throws GeneralSecurityException, SQLException {
      if (saltedPassword == null) {
        throw new SQLException("PgBouncer console: a SCRAM result before its challenge", "28000");
      }
      String expected = Base64.getEncoder().encodeToString(hmac(hmac(saltedPassword, "Server Key"), authMessage));
      if (!expected.equals(fields(serverFinal).get('v'))) {
        throw new SQLException("PgBouncer console: the server's SCRAM signature does not match", "28000");
      }
      verified = true;
    }

    /** Whether the server proved it knows the password (its final SCRAM message was checked). */
    boolean verified() {
      return verified;
    }

    private static Map<Character, String> fields(String message) {
      Map<Character, String> fields = new LinkedHashMap<>();
      for (String part : message.split(",")) {
        if (part.length() >= 2 && part.charAt(1) == '=') {
          fields.put(part.charAt(0), part.substring(2));
        }
      }
      return fields;
    }

    private static byte[] hmac(byte[] key, String text) throws GeneralSecurityException {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
    }

    private static String nonce() {
      byte[] bytes = new byte[18];
      RANDOM.nextBytes(bytes);
      return Base64.getEncoder().encodeToString(bytes);
    }
  }
}
