#include "credfile.h"
#include "oauth.h"
#include "unit.h"

#include <stdlib.h>
#include <yajl/yajl_tree.h>

static const char file_json[] =
	"{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-abc\",\"refreshToken\":\"sk-ant-ort01-def\","
	"\"expiresAt\":1767225600000,\"scopes\":[\"user:inference\",\"user:profile\"],\"subscriptionType\":\"max\","
	"\"rateLimitTier\":\"default_claude_max_20x\"},\"mcpOAuth\":{\"srv\":{\"token\":\"x\",\"n\":1.50,\"big\":"
	"12345678901234567890}},\"unknownTop\":[1,2,{\"x\":null,\"t\":true}]}";

TEST(test_oauth_parses_claude_code_file)
{
	struct cred c;
	cred_init(&c);
	char err[256];
	CHECK_INT(credfile_parse(file_json, strlen(file_json), &c, err, sizeof err), 0);
	CHECK_STR(c.access_token, "sk-ant-oat01-abc");
	CHECK_STR(c.refresh_token, "sk-ant-ort01-def");
	CHECK_INT(c.expires_at_ms, 1767225600000LL);
	CHECK_INT(c.profile_scope, 1);
	cred_free(&c);
	CHECK(c.access_token == NULL);
}

TEST(test_oauth_rejects_bad_files_without_leaking_tokens)
{
	struct cred c;
	cred_init(&c);
	char err[256];
	const char *bad[] = {"", "{", "[]", "{\"claudeAiOauth\":null}", "{\"claudeAiOauth\":{\"accessToken\":5}}",
			     "{\"claudeAiOauth\":{\"accessToken\":\"\"}}",
			     "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-a\\r\\nx-evil: 1\"}}",
			     "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-secret\" \"oops\"}}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_INT(credfile_parse(bad[i], strlen(bad[i]), &c, err, sizeof err), -1);
		CHECK(c.access_token == NULL);
		CHECK(strstr(err, "secret") == NULL);
	}
}

TEST(test_oauth_write_back_keeps_every_other_key)
{
	struct cred c;
	cred_init(&c);
	c.access_token = strdup("sk-ant-oat01-NEW");
	c.refresh_token = strdup("sk-ant-ort01-NEW");
	c.expires_at_ms = 1800000000123LL;
	struct buf out;
	buf_init(&out, 0);
	CHECK_INT(credfile_update(file_json, strlen(file_json), &c, &out), 0);
	buf_append(&out, "", 1);
	const char *s = buf_ptr(&out);
	CHECK_CONTAINS(s, "\"accessToken\":\"sk-ant-oat01-NEW\",\"refreshToken\":\"sk-ant-ort01-NEW\","
			  "\"expiresAt\":1800000000123,\"scopes\":[\"user:inference\",\"user:profile\"]");
	CHECK_CONTAINS(s, "\"rateLimitTier\":\"default_claude_max_20x\"}");
	CHECK_CONTAINS(s, "\"mcpOAuth\":{\"srv\":{\"token\":\"x\",\"n\":1.50,\"big\":12345678901234567890}}");
	CHECK_CONTAINS(s, "\"unknownTop\":[1,2,{\"x\":null,\"t\":true}]");
	CHECK(strstr(s, "abc") == NULL && strstr(s, "ort01-def") == NULL);
	/* No refresh token in the answer: the old one is kept. */
	free(c.refresh_token);
	c.refresh_token = NULL;
	buf_reset(&out);
	CHECK_INT(credfile_update(file_json, strlen(file_json), &c, &out), 0);
	buf_append(&out, "", 1);
	CHECK_CONTAINS(buf_ptr(&out), "\"refreshToken\":\"sk-ant-ort01-def\"");
	/* An empty file gets a fresh claudeAiOauth object; a non-object is refused. */
	buf_reset(&out);
	CHECK_INT(credfile_update("", 0, &c, &out), 0);
	buf_append(&out, "", 1);
	CHECK_CONTAINS(buf_ptr(&out), "{\"claudeAiOauth\":{\"accessToken\":\"sk-ant-oat01-NEW\"");
	buf_reset(&out);
	CHECK_INT(credfile_update("[1]", 3, &c, &out), -1);
	buf_free(&out);
	cred_free(&c);
}

TEST(test_oauth_token_answer)
{
	struct cred c;
	cred_init(&c);
	char code[48], err[256];
	const char *ok = "{\"access_token\":\"sk-ant-oat01-n\",\"refresh_token\":\"sk-ant-ort01-n\",\"expires_in\":28800,"
			 "\"token_type\":\"Bearer\",\"scope\":\"user:inference user:profile\"}";
	CHECK_INT(credfile_parse_token_answer(ok, strlen(ok), 1000, &c, code, sizeof code, err, sizeof err), 0);
	CHECK_STR(c.access_token, "sk-ant-oat01-n");
	CHECK_INT(c.expires_at_ms, 1000 + 28800 * 1000LL);
	CHECK_INT(c.profile_scope, 1);
	const char *bad = "{\"error\":\"invalid_grant\",\"error_description\":\"Refresh token not found or invalid\"}";
	CHECK_INT(credfile_parse_token_answer(bad, strlen(bad), 1000, &c, code, sizeof code, err, sizeof err), -1);
	CHECK_STR(code, "invalid_grant");
	CHECK_CONTAINS(err, "Refresh token not found");
	CHECK_STR(c.access_token, "sk-ant-oat01-n"); /* unchanged on failure */
	CHECK_INT(credfile_parse_token_answer("{}", 2, 1, &c, code, sizeof code, err, sizeof err), -1);
	CHECK_STR(code, "");
	cred_free(&c);
}

TEST(test_oauth_env_token_when_no_file_given)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	struct oauth o;
	oauth_init(&o, &loop, &cfg, NULL, cfg.credentials);
	char *envp[] = {"HOME=/nonexistent-home", "CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-env", NULL};
	CHECK_INT(oauth_load(&o, envp), 0);
	CHECK_STR(oauth_token(&o), "sk-ant-oat01-env");
	CHECK_INT(o.source, OAUTH_ENV);
	CHECK_INT(oauth_must_wait(&o), 0);
	char *envp2[] = {"HOME=/nonexistent-home", NULL};
	cred_free(&o.cur);
	CHECK_INT(oauth_load(&o, envp2), -1);
	CHECK_CONTAINS(o.problem, "/nonexistent-home/.claude/.credentials.json");
	/* An explicit file that fails is reported, not replaced by the environment. */
	o.credentials = "/nonexistent-file";
	CHECK_INT(oauth_load(&o, envp), -1);
	CHECK(oauth_token(&o) == NULL);
	char why[300];
	CHECK_INT(oauth_ready(&o, why, sizeof why), 0);
	CHECK_CONTAINS(why, "no credentials");
	oauth_close(&o);
	uv_run(&loop, UV_RUN_DEFAULT);
	oauth_free(&o);
	CHECK_INT(uv_loop_close(&loop), 0);
}
