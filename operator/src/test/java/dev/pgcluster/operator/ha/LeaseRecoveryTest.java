package dev.pgcluster.operator.ha;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The missing-record table. An instance is {@code name:state:timeline:lsn}: state p = running as a
 * primary, s = standby, x = not answering. Three instances, the last one delayed (promotable 2).
 */
class LeaseRecoveryTest {

  @ParameterizedTest(name = "[{index}] {0}, volumes {1} -> {2}")
  @CsvSource(delimiter = '|', textBlock = """
      -                                              | false | new
      -                                              | true  | wait
      pg-0:x                                         | false | wait
      pg-0:s:1:0/500 pg-1:p:2:0/900 pg-2:s:2:0/800   | true  | rebuild pg-1 1
      pg-0:p:1:0/990 pg-1:p:2:0/900                  | true  | rebuild pg-1 1
      pg-0:s:2:0/500 pg-1:s:2:0/700 pg-2:s:2:0/990   | true  | rebuild pg-1 1
      pg-0:s:3:0/400 pg-1:s:2:0/700                  | true  | rebuild pg-0 2
      pg-0:x pg-1:x pg-2:s:2:0/990                   | true  | wait
      """)
  void rebuildsFromWhatTheInstancesReport(String instances, boolean volumes, String expected) {
    LeaseRecovery.Choice choice = LeaseRecovery.choose(parse(instances), volumes, 2);
    if (expected.equals("new")) {
      assertInstanceOf(LeaseRecovery.NewCluster.class, choice);
    } else if (expected.equals("wait")) {
      assertInstanceOf(LeaseRecovery.Wait.class, choice);
    } else {
      String[] e = expected.split(" ");
      LeaseRecovery.Rebuild rebuild = assertInstanceOf(LeaseRecovery.Rebuild.class, choice);
      assertEquals(e[1], rebuild.holder(), rebuild.why());
      assertEquals(Integer.parseInt(e[2]), rebuild.epoch());
    }
  }

  private static List<InstanceState> parse(String instances) {
    List<InstanceState> list = new ArrayList<>();
    if (instances.equals("-")) {
      return list;
    }
    for (String spec : instances.trim().split("\\s+")) {
      String[] p = spec.split(":", 4);
      int ordinal = Integer.parseInt(p[0].substring(3));
      InstanceFacts facts = switch (p[1]) {
        case "p" -> new InstanceFacts(false, Long.parseLong(p[2]), p[3], null, null);
        case "s" -> new InstanceFacts(true, Long.parseLong(p[2]), p[3], p[3], 0.0);
        default -> null;
      };
      list.add(new InstanceState(p[0], ordinal, facts != null, "10.0.0." + ordinal, null, facts,
          facts == null ? "connection refused" : null, "uid-" + p[0]));
    }
    return list;
  }
}
