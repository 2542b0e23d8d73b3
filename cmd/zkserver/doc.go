// Command zkserver runs a zookit server the way zkServer.sh runs Apache
// ZooKeeper:
//
//	zkserver [--config <dir>] {start|start-foreground|stop|restart|status|version} [zoo.cfg]
//
// Without a config path it uses $ZOOCFGDIR/$ZOOCFG when ZOOCFGDIR is set,
// else an embedded standalone default on 127.0.0.1:2181. -D flags in
// SERVER_JVMFLAGS and JVMFLAGS are honoured as zkServer.sh scripts expect.
// With admin.enableServer=true it also serves ZooKeeper's AdminServer on
// admin.serverAddress:admin.serverPort (package ensemble/admin); unlike
// ZooKeeper, it does not by default. With metricsProvider.className set to
// ZooKeeper's PrometheusMetricsProvider it serves the metrics to Prometheus
// on metricsProvider.httpHost:httpPort (0.0.0.0:7000), as ZooKeeper does.
package main
