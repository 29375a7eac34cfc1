// Go's side of gort's benchmarks: the same cases as bench/cases.py, same JSON keys.
//
//	go build -o gobench ./bench/go && ./gobench pingpong 200000
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

func out(v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func rss() float64 {
	b, _ := os.ReadFile("/proc/self/statm")
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseFloat(f[1], 64)
	return pages * float64(os.Getpagesize())
}

func pingpong(n int) {
	a, b := make(chan int), make(chan int)
	go func() {
		for v := range a {
			b <- v
		}
	}()
	t := time.Now()
	for i := 0; i < n; i++ {
		a <- i
		<-b
	}
	out(map[string]any{"ns_per_op": float64(time.Since(t).Nanoseconds()) / float64(n)})
}

func buffered(n int) {
	c := make(chan int, 128)
	go func() {
		for i := 0; i < n; i++ {
			c <- i
		}
		close(c)
	}()
	t := time.Now()
	total := 0
	for v := range c {
		total += v
	}
	out(map[string]any{"ns_per_op": float64(time.Since(t).Nanoseconds()) / float64(n)})
}

func spawn(n int) {
	var wg sync.WaitGroup
	t := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go wg.Done()
	}
	wg.Wait()
	out(map[string]any{"us_per_op": float64(time.Since(t).Nanoseconds()) / 1e3 / float64(n)})
}

func memory(n int) {
	block := make(chan struct{})
	runtime.GC()
	before := rss()
	for i := 0; i < n; i++ {
		go func() { <-block }()
	}
	time.Sleep(10 * time.Millisecond)
	out(map[string]any{"bytes_per_op": (rss() - before) / float64(n)})
}

func sel(n int) {
	chans := make([]chan int, 4)
	for i := range chans {
		chans[i] = make(chan int)
		go func(c chan int) {
			for i := 0; i < n/4; i++ {
				c <- i
			}
		}(chans[i])
	}
	t := time.Now()
	for i := 0; i < n/4*4; i++ {
		select {
		case <-chans[0]:
		case <-chans[1]:
		case <-chans[2]:
		case <-chans[3]:
		}
	}
	out(map[string]any{"ns_per_op": float64(time.Since(t).Nanoseconds()) / float64(n)})
}

func fair(seconds float64) {
	counts := make([]int64, 4)
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			n := int64(0)
			for time.Now().Before(end) {
				n++
			}
			counts[i] = n
			wg.Done()
		}(i)
	}
	wg.Wait()
	total := float64(counts[0] + counts[1] + counts[2] + counts[3])
	shares := make([]float64, 4)
	worst := 0.0
	for i, c := range counts {
		shares[i] = float64(c) / total
		worst = math.Max(worst, math.Abs(shares[i]-0.25)/0.25)
	}
	out(map[string]any{"shares": shares, "worst_dev": worst})
}

func latency(seconds float64) {
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	for i := 0; i < 4; i++ {
		go func() {
			for time.Now().Before(end) {
			}
		}()
	}
	var late []float64
	for time.Now().Before(end) {
		t := time.Now()
		time.Sleep(time.Millisecond)
		late = append(late, float64(time.Since(t)-time.Millisecond)/1e6)
	}
	sort.Float64s(late)
	n := len(late)
	p99 := int(float64(n) * 0.99)
	if p99 >= n {
		p99 = n - 1
	}
	out(map[string]any{"ticks": n, "p50_ms": late[n/2], "p99_ms": late[p99], "max_ms": late[n-1]})
}

// spinok is Go's own example: a spinning goroutine, then Sleep(1ms), then OK.
func spinok() {
	t := time.Now()
	go func() {
		for {
		}
	}()
	time.Sleep(time.Millisecond)
	fmt.Println("OK")
	out(map[string]any{"ms": float64(time.Since(t).Nanoseconds()) / 1e6})
}

func main() {
	runtime.GOMAXPROCS(1)
	arg := 0.0
	if len(os.Args) > 2 {
		arg, _ = strconv.ParseFloat(os.Args[2], 64)
	}
	switch os.Args[1] {
	case "pingpong":
		pingpong(int(arg))
	case "buffered":
		buffered(int(arg))
	case "spawn":
		spawn(int(arg))
	case "memory":
		memory(int(arg))
	case "select":
		sel(int(arg))
	case "fair":
		fair(arg)
	case "latency":
		latency(arg)
	case "spinok":
		spinok()
	default:
		fmt.Fprintln(os.Stderr, "unknown case", os.Args[1])
		os.Exit(2)
	}
}
