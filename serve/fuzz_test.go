package serve

import (
	"encoding/json"
	"testing"

	"github.com/glmtool/glmtool/arch"
)

// FuzzToolCall parses arbitrary model replies as tool calls (GLM-4's JSON, ChatGLM3's Python call) and
// arbitrary request messages into conversations: no panic, and every call found has a name and JSON
// object arguments.
func FuzzToolCall(f *testing.F) {
	f.Add("get_weather\n{\"city\": \"Beijing\"}", `[{"role":"user","content":"hi"}]`)
	f.Add("get_weather\n```python\ntool_call(city='北京', days=3, metric=True)\n```", `[{"role":"tool","content":"{}","tool_call_id":"x"}]`)
	f.Add("tool_call(a=\"\\\"\", b=None)", `[{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]}]`)
	f.Fuzz(func(t *testing.T, reply, messages string) {
		for _, fam := range []arch.Family{arch.FamilyChatGLM3, arch.FamilyGLM4} {
			if name, args, ok := parseToolCall(fam, reply); ok {
				var obj map[string]any
				if name == "" || json.Unmarshal([]byte(args), &obj) != nil {
					t.Fatalf("%s: call %q with arguments %q", fam, name, args)
				}
			}
			var msgs []chatMessage
			if json.Unmarshal([]byte(messages), &msgs) == nil {
				_, _ = toMessages(fam, msgs, []tool{{Type: "function"}})
			}
		}
	})
}
