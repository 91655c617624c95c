package dev.pgcluster.operator.backup;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.util.BitSet;
import java.util.Optional;

/**
 * A five-field cron schedule (minute hour day-of-month month day-of-week, UTC): numbers, '*', ranges
 * 'a-b', lists 'a,b' and steps '*&#47;n' or 'a-b/n'. As in cron, when both day fields are restricted a
 * day matching either one fires. Pure.
 */
public final class CronSchedule {
  private final BitSet minutes;
  private final BitSet hours;
  private final BitSet days;
  private final BitSet months;
  private final BitSet weekdays;
  private final boolean daysRestricted;
  private final boolean weekdaysRestricted;

  private CronSchedule(String[] f) {
    minutes = field(f[0], 0, 59, "minute");
    hours = field(f[1], 0, 23, "hour");
    days = field(f[2], 1, 31, "day of month");
    months = field(f[3], 1, 12, "month");
    BitSet dow = field(f[4], 0, 7, "day of week");
    if (dow.get(7)) {
      dow.set(0);  // 7 is Sunday too
    }
    weekdays = dow;
    daysRestricted = !f[2].equals("*");
    weekdaysRestricted = !f[4].equals("*");
  }

  /** The schedule, or an IllegalArgumentException that says which field is wrong and why. */
  public static CronSchedule parse(String expression) {
    String[] f = expression == null ? new String[0] : expression.trim().split("\\s+");
    if (f.length != 5) {
      throw new IllegalArgumentException("'" + expression + "' is not a cron schedule: it needs five fields"
          + " (minute hour day-of-month month day-of-week), e.g. '0 3 * * *'");
    }
    return new CronSchedule(f);
  }

  /** Any problem with {@code expression}, for a status message. */
  public static Optional<String> problem(String expression) {
    try {
      parse(expression);
      return Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.of(e.getMessage());
    }
  }

  /** The first firing strictly after {@code after} (minute precision); empty if none within 5 years. */
  public Optional<Instant> next(Instant after) {
    ZonedDateTime t = after.atZone(ZoneOffset.UTC).truncatedTo(ChronoUnit.MINUTES).plusMinutes(1);
    ZonedDateTime limit = t.plusYears(5);
    while (t.isBefore(limit)) {
      if (!months.get(t.getMonthValue())) {
        t = t.withDayOfMonth(1).withHour(0).withMinute(0).plusMonths(1);
        continue;
      }
      if (!dayMatches(t)) {
        t = t.withHour(0).withMinute(0).plusDays(1);
        continue;
      }
      if (!hours.get(t.getHour())) {
        t = t.withMinute(0).plusHours(1);
        continue;
      }
      if (!minutes.get(t.getMinute())) {
        t = t.plusMinutes(1);
        continue;
      }
      return Optional.of(t.toInstant());
    }
    return Optional.empty();
  }

  /** The last firing at or before {@code now} and after {@code since}; empty when none. */
  public Optional<Instant> latestDue(Instant since, Instant now) {
    Optional<Instant> due = Optional.empty();
    Optional<Instant> n = next(since);
    // Bounded: a minute schedule over a long outage is a few hundred thousand steps at worst.
    for (int i = 0; i < 600_000 && n.isPresent() && !n.get().isAfter(now); i++) {
      due = n;
      n = next(n.get());
    }
    return due;
  }

  private boolean dayMatches(ZonedDateTime t) {
    boolean dom = days.get(t.getDayOfMonth());
    boolean dow = weekdays.get(t.getDayOfWeek().getValue() % 7);
    if (daysRestricted && weekdaysRestricted) {
      return dom || dow;
    }
    return dom && dow;
  }

  private static BitSet field(String text, int min, int max, String name) {
    BitSet set = new BitSet(max + 1);
    for (String part : text.split(",", -1)) {
      String range = part;
      int step = 1;
      int slash = part.indexOf('/');
      if (slash >= 0) {
        range = part.substring(0, slash);
        step = number(part.substring(slash + 1), 1, max, name, text);
      }
      int from;
      int to;
      if (range.equals("*")) {
        from = min;
        to = max;
      } else if (range.contains("-")) {
        String[] ends = range.split("-", -1);
        if (ends.length != 2) {
          throw bad(name, text, "'" + range + "' is not a range");
        }
        from = number(ends[0], min, max, name, text);
        to = number(ends[1], min, max, name, text);
        if (from > to) {
          throw bad(name, text, "range " + range + " runs backwards");
        }
      } else {
        from = number(range, min, max, name, text);
        to = slash >= 0 ? max : from;
      }
      for (int v = from; v <= to; v += step) {
        set.set(v);
      }
    }
    return set;
  }

  private static int number(String s, int min, int max, String name, String field) {
    try {
      int v = Integer.parseInt(s);
      if (v < min || v > max) {
        throw bad(name, field, v + " is outside " + min + "-" + max);
      }
      return v;
    } catch (NumberFormatException e) {
      throw bad(name, field, "'" + s + "' is not a number");
    }
  }

  private static IllegalArgumentException bad(String name, String field, String why) {
    return new IllegalArgumentException("cron " + name + " field '" + field + "': " + why);
  }
}
