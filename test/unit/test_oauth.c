#include "oauth.h"
#include "unit.h"

TEST(test_oauth_parses_claude_code_file)
{
	struct oauth o;
	oauth_init(&o);
	char err[256];
	const char *json = "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-abc\",\"refreshToken\":\"sk-ant-ort01-def\","
			   "\"expiresAt\":1767225600000,\"scopes\":[\"user:inference\",\"user:profile\"],"
			   "\"subscriptionType\":\"max\"},\"mcpOAuth\":{\"x\":1}}";
	CHECK_INT(oauth_parse_credentials(&o, json, strlen(json), err, sizeof err), 0);
	CHECK_STR(oauth_token(&o), "sk-ant-oat01-abc");
	CHECK_STR(o.refresh_token, "sk-ant-ort01-def");
	CHECK_INT(o.expires_at_ms, 1767225600000LL);
	oauth_free(&o);
}

TEST(test_oauth_rejects_bad_files_without_leaking_tokens)
{
	struct oauth o;
	oauth_init(&o);
	char err[256];
	const char *bad[] = {"", "{", "[]", "{\"claudeAiOauth\":null}", "{\"claudeAiOauth\":{\"accessToken\":5}}",
			     "{\"claudeAiOauth\":{\"accessToken\":\"\"}}",
			     "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-a\\r\\nx-evil: 1\"}}",
			     "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-secret\" \"oops\"}}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_INT(oauth_parse_credentials(&o, bad[i], strlen(bad[i]), err, sizeof err), -1);
		CHECK(oauth_token(&o) == NULL);
		CHECK(strstr(err, "secret") == NULL);
	}
	oauth_free(&o);
}

TEST(test_oauth_env_token_when_no_file_given)
{
	struct oauth o;
	oauth_init(&o);
	char *envp[] = {"HOME=/nonexistent-home", "CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-env", NULL};
	CHECK_INT(oauth_load(&o, NULL, envp), 0);
	CHECK_STR(oauth_token(&o), "sk-ant-oat01-env");
	CHECK_INT(o.source, OAUTH_ENV);
	oauth_free(&o);
	char *envp2[] = {"HOME=/nonexistent-home", NULL};
	CHECK_INT(oauth_load(&o, NULL, envp2), -1);
	CHECK_CONTAINS(o.problem, "/nonexistent-home/.claude/.credentials.json");
	/* An explicit file that fails is reported, not replaced by the environment. */
	CHECK_INT(oauth_load(&o, "/nonexistent-file", envp), -1);
	CHECK(oauth_token(&o) == NULL);
	oauth_free(&o);
}
