import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.Plugin;

/**
 * Starts one single-node Elasticsearch 7.17 node from the jars on the class path (no distribution, no Bootstrap).
 * The modules that a distribution loads from modules/ are added as class-path plugins instead.
 *
 * Usage: EsLauncher HOME CONFIG_DIR HTTP_PORT TRANSPORT_PORT
 * CONFIG_DIR must hold log4j2.properties; data and logs go to HOME/data and HOME/logs.
 */
public final class EsLauncher extends Node {
    private static final String[] MODULE_PLUGINS = {
        "org.elasticsearch.transport.Netty4Plugin", // HTTP and transport
        "org.elasticsearch.index.mapper.MapperExtrasPlugin", // scaled_float, rank_feature, search_as_you_type...
        "org.elasticsearch.reindex.ReindexPlugin", // _reindex, _update_by_query, _delete_by_query
        "org.elasticsearch.join.ParentJoinPlugin",
        "org.elasticsearch.script.mustache.MustachePlugin", // search templates
    };

    private EsLauncher(Environment env, Collection<Class<? extends Plugin>> plugins) {
        super(env, plugins, true);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: EsLauncher HOME CONFIG_DIR HTTP_PORT TRANSPORT_PORT");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path config = Paths.get(args[1]).toAbsolutePath();
        for (String dir : new String[] {"data", "logs", "plugins"}) {
            Files.createDirectories(home.resolve(dir));
        }
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "im-local")
            .put("node.name", "node-1")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[2])
            .put("transport.port", args[3])
            .put("discovery.type", "single-node")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> "node-1");
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName("node-1");
        LogConfigurator.configure(env);

        List<Class<? extends Plugin>> plugins = new ArrayList<>();
        for (String name : MODULE_PLUGINS) {
            plugins.add(Class.forName(name).asSubclass(Plugin.class));
        }

        Node node = new EsLauncher(env, plugins).start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "es-launcher-shutdown"));
        System.out.println("EsLauncher: node started");
        stopped.await();
    }
}
