package dev.pgcluster.operator;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import dev.pgcluster.operator.config.OperatorConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Log level and format from the operator config. Every line carries the resource (JOSDK's MDC keys). */
final class LoggingSetup {
  static final String PATTERN =
      "%d{yyyy-MM-dd'T'HH:mm:ss.SSSX, UTC} %-5level [%X{resource.namespace}/%X{resource.name}] %logger{0}: %msg%n";

  private LoggingSetup() {}

  static void apply(OperatorConfig config) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
    root.detachAndStopAllAppenders();
    Encoder<ILoggingEvent> encoder;
    if ("json".equals(config.logFormat())) {
      JsonLineEncoder json = new JsonLineEncoder();
      json.setContext(context);
      json.start();
      encoder = json;
    } else {
      PatternLayoutEncoder pattern = new PatternLayoutEncoder();
      pattern.setContext(context);
      pattern.setPattern(PATTERN);
      pattern.start();
      encoder = pattern;
    }
    ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
    console.setContext(context);
    console.setEncoder(encoder);
    console.start();
    root.addAppender(console);
    root.setLevel(Level.toLevel(config.logLevel(), Level.INFO));
  }
}
