// Go's side of gort.net's benchmarks (bench/net_echo.py, bench/net_http.py): the
// same servers written with Go's net, crypto/tls and net/http, a goroutine per
// connection. The bench builds it into a temporary directory and runs it with
// GOMAXPROCS=1; it prints the port it listens on (127.0.0.1, a free port).
//
//	netpeer echo BUFSIZE          read up to BUFSIZE bytes, write them back
//	netpeer tls BUFSIZE CERT KEY  the same over TLS
//	netpeer compute               line protocol: "spin\n" computes 2 s then "done\n",
//	                              any other line answers "ok\n"
//	netpeer http                  GET / answers "hello\n" (net/http)
package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func listen() net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return ln
}

func serve(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			panic(err)
		}
		go handle(c)
	}
}

func echo(size int) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, size)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
}

func spin(d time.Duration) {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
	}
}

func compute(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if line == "spin\n" {
			spin(2 * time.Second)
			c.Write([]byte("done\n"))
		} else {
			c.Write([]byte("ok\n"))
		}
	}
}

func main() {
	switch os.Args[1] {
	case "echo":
		size, _ := strconv.Atoi(os.Args[2])
		serve(listen(), echo(size))
	case "tls":
		size, _ := strconv.Atoi(os.Args[2])
		cert, err := tls.LoadX509KeyPair(os.Args[3], os.Args[4])
		if err != nil {
			panic(err)
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
		serve(tls.NewListener(listen(), cfg), echo(size))
	case "compute":
		serve(listen(), compute)
	case "http":
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("hello\n"))
		})
		panic(http.Serve(listen(), nil))
	default:
		panic("unknown mode " + os.Args[1])
	}
}
