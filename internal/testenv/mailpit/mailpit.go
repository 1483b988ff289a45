// Package mailpit runs a throwaway Mailpit (github.com/axllent/mailpit, a real SMTP
// server that keeps what it receives) for tests, on loopback ports the caller picks,
// with a database in a temporary folder, and reads what arrived through its HTTP API.
// The Makefile installs the pinned version into the cache (`make mailpit`).
package mailpit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// Version is the Mailpit the Makefile installs.
const Version = "v1.33.1"

// Path is the Mailpit binary: LOENDUR_TEST_MAILPIT, or where the Makefile installs it.
// ok is false when neither exists.
func Path() (path string, ok bool) {
	if p := os.Getenv("LOENDUR_TEST_MAILPIT"); p != "" {
		_, err := os.Stat(p)
		return p, err == nil
	}
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, ".cache", "loendur", "mailpit-"+Version, "mailpit")
	_, err := os.Stat(p)
	return p, err == nil
}

// Server is a running Mailpit.
type Server struct {
	SMTPPort, HTTPPort int
	cmd                *exec.Cmd
	dir                string
	exited             chan struct{}
}

// Start runs Mailpit from bin with SMTP on 127.0.0.1:smtpPort and its API on
// 127.0.0.1:httpPort, and waits until both answer.
func Start(bin string, smtpPort, httpPort int) (*Server, error) {
	// A port in use (another test run of the same package) must fail here: otherwise
	// the other run's Mailpit would answer the readiness check and receive our mail.
	for _, p := range []int{smtpPort, httpPort} {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			return nil, fmt.Errorf("mailpit: port %d is in use (is another run of these tests going on?): %w", p, err)
		}
		ln.Close()
	}
	dir, err := os.MkdirTemp("", "loendur-mailpit-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--quiet",
		"--smtp", "127.0.0.1:"+strconv.Itoa(smtpPort), "--listen", "127.0.0.1:"+strconv.Itoa(httpPort),
		"--database", filepath.Join(dir, "mailpit.db"), "--smtp-auth-accept-any", "--smtp-auth-allow-insecure",
		"--smtp-disable-rdns")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start mailpit: %w", err)
	}
	s := &Server{SMTPPort: smtpPort, HTTPPort: httpPort, cmd: cmd, dir: dir, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.exited:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("mailpit exited at start (ports %d/%d taken?)", smtpPort, httpPort)
		default:
		}
		if s.ready() {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, errors.New("mailpit did not answer within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) ready() bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.SMTPPort)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	resp, err := http.Get(s.api("/api/v1/messages"))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Stop ends Mailpit and removes its database.
func (s *Server) Stop() {
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
	os.RemoveAll(s.dir)
}

// SMTPURL is the --smtp URL of this server.
func (s *Server) SMTPURL() string { return fmt.Sprintf("smtp://127.0.0.1:%d", s.SMTPPort) }

func (s *Server) api(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", s.HTTPPort, path)
}

// Address is a sender or recipient as the API lists it.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Summary is a message in the list.
type Summary struct {
	ID      string    `json:"ID"`
	To      []Address `json:"To"`
	Subject string    `json:"Subject"`
}

// Attachment is an inline file or attachment of a message.
type Attachment struct {
	PartID      string `json:"PartID"`
	FileName    string `json:"FileName"`
	ContentType string `json:"ContentType"`
	ContentID   string `json:"ContentID"`
	Size        int    `json:"Size"`
}

// Message is one message in full.
type Message struct {
	ID          string       `json:"ID"`
	From        Address      `json:"From"`
	To          []Address    `json:"To"`
	Subject     string       `json:"Subject"`
	Text        string       `json:"Text"`
	HTML        string       `json:"HTML"`
	Inline      []Attachment `json:"Inline"`
	Attachments []Attachment `json:"Attachments"`
}

// Messages lists what arrived, newest first.
func (s *Server) Messages(ctx context.Context) ([]Summary, error) {
	var out struct {
		Messages []Summary `json:"messages"`
	}
	if err := s.getJSON(ctx, "/api/v1/messages?limit=1000", &out); err != nil {
		return nil, err
	}
	return out.Messages, nil
}

// Message reads one message.
func (s *Server) Message(ctx context.Context, id string) (Message, error) {
	var m Message
	err := s.getJSON(ctx, "/api/v1/message/"+id, &m)
	return m, err
}

// Headers reads a message's headers.
func (s *Server) Headers(ctx context.Context, id string) (map[string][]string, error) {
	var h map[string][]string
	err := s.getJSON(ctx, "/api/v1/message/"+id+"/headers", &h)
	return h, err
}

// Part reads an inline file or attachment of a message.
func (s *Server) Part(ctx context.Context, id, part string) ([]byte, error) {
	return s.get(ctx, "/api/v1/message/"+id+"/part/"+part)
}

// DeleteAll empties the mailbox.
func (s *Server) DeleteAll(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.api("/api/v1/messages"), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("mailpit: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit: delete messages: %s", resp.Status)
	}
	return nil
}

func (s *Server) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.api(path), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mailpit: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("mailpit GET %s: %s", path, resp.Status)
	}
	return body, nil
}

func (s *Server) getJSON(ctx context.Context, path string, dest any) error {
	body, err := s.get(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, dest); err != nil {
		return fmt.Errorf("mailpit GET %s: %w", path, err)
	}
	return nil
}
