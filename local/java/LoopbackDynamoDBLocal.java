import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * Starts AWS's DynamoDB Local with its usual arguments, but bound to 127.0.0.1
 * only: DynamoDB Local has no option for the listen address and binds every
 * interface, so this sets the host on its Jetty connectors before start.
 */
public final class LoopbackDynamoDBLocal {
  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server jetty = (Server) field.get(proxy);
    int bound = 0;
    for (Connector connector : jetty.getConnectors()) {
      if (connector instanceof ServerConnector) {
        ((ServerConnector) connector).setHost("127.0.0.1");
        bound++;
      }
    }
    if (bound == 0) {
      throw new IllegalStateException("no Jetty connector to bind to 127.0.0.1");
    }
    // The parent holds our stdin open; when it ends for any reason (even SIGKILL), the
    // pipe closes and we stop: DynamoDB Local never outlives the process that started it.
    Thread watchParent =
        new Thread(
            () -> {
              try {
                while (System.in.read() != -1) {}
              } catch (java.io.IOException ignored) {
                // A broken pipe means the same: the parent is gone.
              }
              Runtime.getRuntime().halt(0);
            });
    watchParent.setDaemon(true);
    watchParent.start();
    try {
      proxy.start();
    } catch (Exception error) {
      // Jetty's threads would keep a failed server's JVM alive: say why and end now.
      System.err.println("Exception: " + error);
      System.err.flush();
      Runtime.getRuntime().halt(1);
    }
    System.out.println("LOOPBACK_DYNAMODB_LOCAL_READY");
    proxy.join();
  }
}
