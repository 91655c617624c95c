package dev.pgcluster.operator.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Each row: spec.storage.size, the claims as {@code instance:requested:capacity}, then what is grown and growing. */
class VolumeGrowthTest {

  @ParameterizedTest(name = "[{index}] {0}, {1} -> grow {2}, growing {3}")
  @CsvSource(delimiter = '|', textBlock = """
      1Gi    | pg-0:1Gi:1Gi pg-1:1Gi:1Gi     | -         | -
      2Gi    | pg-0:1Gi:1Gi pg-1:1Gi:1Gi     | pg-0,pg-1 | -
      2Gi    | pg-0:2Gi:1Gi pg-1:2Gi:2Gi     | -         | pg-0
      2048Mi | pg-0:2Gi:2Gi                  | -         | -
      2Gi    | pg-0:3Gi:3Gi pg-1:1Gi:-       | -         | -
      2Gi    | pg-0:3Gi:3Gi pg-1:1Gi:1Gi     | pg-1      | -
      2Gi    | pg-0:2Gi:-                    | -         | -
      1500M  | pg-0:1Gi:1Gi                  | pg-0      | -
      """)
  void growsClaimsBelowTheSpecAndFollowsTheirVolumes(String wanted, String claims, String grow, String growing) {
    List<VolumeGrowth.Claim> list = new ArrayList<>();
    for (String c : claims.trim().split("\\s+")) {
      String[] p = c.split(":");
      list.add(new VolumeGrowth.Claim(p[0], "pgdata-" + p[0], p[1], p[2].equals("-") ? null : p[2]));
    }
    VolumeGrowth.Status status = VolumeGrowth.plan(wanted, list, null);
    assertEquals(names(grow), status.toGrow().stream().map(VolumeGrowth.Claim::instance).toList());
    assertEquals(names(growing), status.growing().stream().map(VolumeGrowth.Claim::instance).toList());
    // Once raised, a claim is no longer to grow: it is growing until its volume has the size.
    var raised = VolumeGrowth.plan(wanted, VolumeGrowth.raised(list, status.toGrow(), wanted), null);
    assertEquals(List.of(), raised.toGrow());
  }

  @org.junit.jupiter.api.Test
  void describesTheGrowthAndTheSizeEachInstanceHas() {
    var status = VolumeGrowth.plan("2Gi", List.of(new VolumeGrowth.Claim("pg-0", "pgdata-pg-0", "2Gi", "1Gi"),
        new VolumeGrowth.Claim("pg-1", "pgdata-pg-1", "2Gi", "2Gi")), null);
    assertEquals("growing the data volumes to 2Gi: pgdata-pg-0 (1Gi)", status.describe(java.util.Set.of("pg-0",
        "pg-1")));
    assertEquals(List.of(), status.growingAmong(java.util.Set.of("pg-1")), "a claim no instance of the spec mounts");
    assertEquals(Optional.of("1Gi"), status.capacity("pg-0"));
    assertEquals(Optional.empty(), status.capacity("pg-7"));
  }

  private static List<String> names(String list) {
    return list.equals("-") ? List.of() : List.of(list.split(","));
  }
}
