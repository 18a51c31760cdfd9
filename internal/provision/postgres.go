package provision

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

type pgProvisioner struct {
	d   Postgres
	env Env
}

func (p *pgProvisioner) connect(ctx context.Context) (*pgx.Conn, error) {
	pw, err := p.env.Secrets(p.d.PasswordSecret)
	if err != nil {
		return nil, fmt.Errorf("postgres: password secret %q: %w", p.d.PasswordSecret, err)
	}
	host, port, _ := net.SplitHostPort(p.d.Host)
	user := p.d.User
	if user == "" {
		user = "postgres"
	}
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s port=%s user=%s dbname=postgres sslmode=disable connect_timeout=5", host, port, user))
	if err != nil {
		return nil, err
	}
	cfg.Password = pw
	cfg.DialFunc = pgconn.DialFunc(p.env.dial())
	// Names are resolved by the dialer (Docker DNS, or the Engine API on
	// the host), not by pgx.
	cfg.LookupFunc = func(_ context.Context, host string) ([]string, error) { return []string{host}, nil }
	var conn *pgx.Conn
	err = p.env.Retry.Wait(ctx, "postgres "+p.d.Host, func(ctx context.Context) error {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			conn = c
		}
		return err
	})
	return conn, err
}

// Ensure creates missing roles and databases, sets owners and grants. It is
// safe to run concurrently: "already exists" races count as success.
func (p *pgProvisioner) Ensure(ctx context.Context) ([]Item, error) { return p.run(ctx, true) }

// Check compares roles, databases, owners and grants.
func (p *pgProvisioner) Check(ctx context.Context) ([]Item, error) { return p.run(ctx, false) }

func isCode(err error, codes ...string) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		for _, c := range codes {
			if pe.Code == c {
				return true
			}
		}
	}
	return false
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (p *pgProvisioner) run(ctx context.Context, fix bool) ([]Item, error) {
	conn, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var items []Item
	for _, r := range p.d.Roles {
		item := Item{Backend: "postgres", Resource: "role " + r.Name, Status: OK}
		if fix {
			item.Status = Exists
		}
		var exists, login bool
		err := conn.QueryRow(ctx, "SELECT true, rolcanlogin FROM pg_roles WHERE rolname = $1", r.Name).Scan(&exists, &login)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return items, fmt.Errorf("postgres: role %s: %w", r.Name, err)
		}
		ident := pgx.Identifier{r.Name}.Sanitize()
		if !exists {
			if !fix {
				item.Status = Missing
				items = append(items, item)
				continue
			}
			opt := "NOLOGIN"
			if r.Login {
				opt = "LOGIN"
			}
			if _, err := conn.Exec(ctx, "CREATE ROLE "+ident+" "+opt); err != nil && !isCode(err, "42710", "23505") {
				return items, fmt.Errorf("postgres: create role %s: %w", r.Name, err)
			} else if err == nil {
				item.Status = Created
			}
			login = r.Login
		}
		if login != r.Login {
			if fix {
				opt := map[bool]string{true: "LOGIN", false: "NOLOGIN"}[r.Login]
				if _, err := conn.Exec(ctx, "ALTER ROLE "+ident+" "+opt); err != nil {
					return items, fmt.Errorf("postgres: alter role %s: %w", r.Name, err)
				}
				if item.Status == Exists {
					item.Status = Updated
				}
			} else {
				item.Status, item.Detail = Drift, fmt.Sprintf("login is %v, declared %v", login, r.Login)
			}
		}
		if fix && r.PasswordSecret != "" {
			pw, err := p.env.Secrets(r.PasswordSecret)
			if err != nil {
				return items, fmt.Errorf("postgres: role %s password secret %q: %w", r.Name, r.PasswordSecret, err)
			}
			// DDL takes no parameters: the literal is quoted, never logged.
			if _, err := conn.Exec(ctx, "ALTER ROLE "+ident+" WITH PASSWORD "+quoteLiteral(pw)); err != nil {
				return items, fmt.Errorf("postgres: set the password of role %s failed", r.Name)
			}
		}
		items = append(items, item)
	}
	for _, d := range p.d.Databases {
		item := Item{Backend: "postgres", Resource: "database " + d.Name, Status: OK}
		if fix {
			item.Status = Exists
		}
		var owner string
		err := conn.QueryRow(ctx, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", d.Name).Scan(&owner)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return items, fmt.Errorf("postgres: database %s: %w", d.Name, err)
		}
		ident := pgx.Identifier{d.Name}.Sanitize()
		if errors.Is(err, pgx.ErrNoRows) {
			if !fix {
				item.Status = Missing
				items = append(items, item)
				continue
			}
			stmt := "CREATE DATABASE " + ident
			if d.Owner != "" {
				stmt += " OWNER " + pgx.Identifier{d.Owner}.Sanitize()
			}
			if _, err := conn.Exec(ctx, stmt); err != nil && !isCode(err, "42P04", "23505") {
				return items, fmt.Errorf("postgres: create database %s: %w", d.Name, err)
			} else if err == nil {
				item.Status = Created
			}
			owner = d.Owner
		}
		var notes []string
		if d.Owner != "" && owner != d.Owner {
			if fix {
				if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" OWNER TO "+pgx.Identifier{d.Owner}.Sanitize()); err != nil {
					return items, fmt.Errorf("postgres: owner of %s: %w", d.Name, err)
				}
				notes = append(notes, "owner set to "+d.Owner)
				if item.Status == Exists {
					item.Status = Updated
				}
			} else {
				item.Status = Drift
				notes = append(notes, fmt.Sprintf("owner is %s, declared %s", owner, d.Owner))
			}
		}
		for _, g := range d.Grants {
			for _, priv := range g.Privileges {
				check := []string{priv}
				if priv == "ALL" {
					check = []string{"CONNECT", "CREATE", "TEMPORARY"}
				}
				has := true
				for _, c := range check {
					var ok bool
					if err := conn.QueryRow(ctx, "SELECT has_database_privilege($1, $2, $3)", g.Role, d.Name, c).Scan(&ok); err != nil {
						return items, fmt.Errorf("postgres: privileges of %s on %s: %w", g.Role, d.Name, err)
					}
					has = has && ok
				}
				if has {
					continue
				}
				if fix {
					if _, err := conn.Exec(ctx, "GRANT "+priv+" ON DATABASE "+ident+" TO "+pgx.Identifier{g.Role}.Sanitize()); err != nil {
						return items, fmt.Errorf("postgres: grant %s on %s to %s: %w", priv, d.Name, g.Role, err)
					}
					notes = append(notes, fmt.Sprintf("granted %s to %s", priv, g.Role))
					if item.Status == Exists {
						item.Status = Updated
					}
				} else {
					item.Status = Drift
					notes = append(notes, fmt.Sprintf("%s lacks %s", g.Role, priv))
				}
			}
		}
		item.Detail = strings.Join(notes, "; ")
		items = append(items, item)
	}
	return items, nil
}
