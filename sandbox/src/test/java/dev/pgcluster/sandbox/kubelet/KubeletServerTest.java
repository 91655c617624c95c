package dev.pgcluster.sandbox.kubelet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where kubectl logs --tail=N starts reading. */
class KubeletServerTest {
  @TempDir
  Path dir;

  private String tail(String content, long lines) throws Exception {
    Path file = dir.resolve("c.log");
    Files.writeString(file, content);
    return content.substring((int) KubeletServer.start(file, lines));
  }

  @Test
  void theLastLinesWithOrWithoutAFinalNewline() throws Exception {
    assertEquals("b\nc\n", tail("a\nb\nc\n", 2));
    assertEquals("b\nc", tail("a\nb\nc", 2));
    assertEquals("c\n", tail("a\nb\nc\n", 1));
    assertEquals("c", tail("a\nb\nc", 1));
  }

  @Test
  void moreLinesThanTheFileHasOrNoneOrAll() throws Exception {
    assertEquals("a\nb\n", tail("a\nb\n", 5));
    assertEquals("a\nb\n", tail("a\nb\n", Long.MAX_VALUE));
    assertEquals("", tail("a\nb\n", 0));
    assertEquals("a\nb\n", tail("a\nb\n", -1));
    assertEquals("", tail("", 3));
  }
}
