// Command etcd runs a single-member etcd for the sandbox's kube-apiserver, from the etcd server
// module that the pinned Kubernetes release uses (go.etcd.io/etcd/server/v3/embed).
package main

import (
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dataDir := flag.String("data-dir", "", "directory for the member's data (required)")
	clientURL := flag.String("listen-client-url", "http://127.0.0.1:2379", "where clients (kube-apiserver) connect")
	peerURL := flag.String("listen-peer-url", "http://127.0.0.1:2380", "the member's peer URL (single member, nothing connects)")
	noFsync := flag.Bool("unsafe-no-fsync", false, "skip fsync: faster, loses data on a machine crash (a throwaway sandbox only)")
	flag.Parse()
	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "etcd: --data-dir is required")
		os.Exit(2)
	}

	cfg := embed.NewConfig()
	cfg.Name = "sandbox"
	cfg.Dir = *dataDir
	cfg.LogLevel = "warn"
	cfg.UnsafeNoFsync = *noFsync
	client := mustURL(*clientURL)
	peer := mustURL(*peerURL)
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)

	server, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("etcd: start: %v", err)
	}
	defer server.Close()
	<-server.Server.ReadyNotify()
	log.Printf("etcd: ready, serving clients on %s", client.String())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case err := <-server.Err():
		log.Fatalf("etcd: %v", err)
	case sig := <-stop:
		log.Printf("etcd: %v, stopping", sig)
	}
}

func mustURL(raw string) url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		log.Fatalf("etcd: bad URL %q: %v", raw, err)
	}
	return *u
}
