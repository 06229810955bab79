package serve

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// HTTPServer is the http.Server for this handler, with the limits a server facing untrusted clients
// needs: headers within 10 s, idle keep-alive connections closed after idle (default 60 s); bodies are
// bounded by Config.BodyTimeout per request. Write timeouts are left off, as streamed replies may run for
// minutes.
func (s *Server) HTTPServer(idle time.Duration) *http.Server {
	if idle <= 0 {
		idle = 60 * time.Second
	}
	return &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: idle}
}

// LimitListener accepts at most n connections at a time; further clients wait in the kernel's accept
// queue until one closes, so thousands of idle or trickling clients cost no more than n connections.
func LimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
