// Starts AWS DynamoDB Local listening on one address only (args[0]), e.g. 127.0.0.1.
//
// DynamoDB Local has no bind-address option: its Jetty server listens on every interface,
// so on a laptop any LAN peer could read and write the development tables (sessions
// included). This launcher builds the server exactly as DynamoDB Local's own main class
// does, from the remaining arguments, and sets the host of its connector before starting
// it. Run by app/db/local_dynamodb.py with `java -cp DynamoDBLocal.jar <this file> ...`
// (Java 11+ source-file mode: no build step). Telemetry is never configured here.
import java.lang.reflect.Field;
import java.util.Arrays;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class DynamoDBLocalOnHost {
    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: DynamoDBLocalOnHost <host> [DynamoDB Local options]");
            System.exit(2);
        }
        String host = args[0];
        DynamoDBProxyServer proxy =
                ServerRunner.createServerFromCommandLineArgs(Arrays.copyOfRange(args, 1, args.length));
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            ((ServerConnector) connector).setHost(host);
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on " + host);
        proxy.join();
    }
}
