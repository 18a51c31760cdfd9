package compose

import (
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
)

func TestRestartResolvesAsComposeDoes(t *testing.T) {
	three := uint64(3)
	tests := []struct {
		name string
		sc   types.ServiceConfig
		want RestartPolicy
	}{
		{"unset", types.ServiceConfig{}, RestartPolicy{Mode: "no"}},
		{"no", types.ServiceConfig{Restart: "no"}, RestartPolicy{Mode: "no", Key: "restart"}},
		{"on-failure", types.ServiceConfig{Restart: "on-failure"}, RestartPolicy{Mode: "on-failure", Key: "restart"}},
		{"on-failure:5", types.ServiceConfig{Restart: "on-failure:5"}, RestartPolicy{Mode: "on-failure", MaxRetries: 5, Key: "restart"}},
		{"always", types.ServiceConfig{Restart: "always"}, RestartPolicy{Mode: "always", Key: "restart"}},
		{"deploy wins", types.ServiceConfig{Restart: "always", Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "on-failure", MaxAttempts: &three}}},
			RestartPolicy{Mode: "on-failure", MaxRetries: 3, Key: "deploy.restart_policy"}},
		{"deploy none", types.ServiceConfig{Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "none"}}}, RestartPolicy{Mode: "no", Key: "deploy.restart_policy"}},
		{"deploy any", types.ServiceConfig{Deploy: &types.DeployConfig{RestartPolicy: &types.RestartPolicy{Condition: "any"}}}, RestartPolicy{Mode: "always", Key: "deploy.restart_policy"}},
		{"deploy without policy", types.ServiceConfig{Restart: "on-failure:2", Deploy: &types.DeployConfig{}}, RestartPolicy{Mode: "on-failure", MaxRetries: 2, Key: "restart"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Restart(tt.sc); got != tt.want {
				t.Errorf("Restart = %+v, want %+v", got, tt.want)
			}
		})
	}
	if s := (RestartPolicy{Mode: "on-failure", MaxRetries: 3}).String(); s != "on-failure:3" {
		t.Errorf("String = %q", s)
	}
}
