#include "log.h"
#include "unit.h"

int unit_failed;

#define TESTS(X)                                                                                                   \
	X(test_request_pipelined_split_at_every_byte)                                                              \
	X(test_request_limits_answered_with_fitting_status)                                                        \
	X(test_request_smuggling_shapes_rejected)                                                                  \
	X(test_request_bare_lf_rejected)                                                                           \
	X(test_request_refused_stays_refused)                                                                      \
	X(test_request_trailers_are_dropped)                                                                       \
	X(test_request_http10_and_keepalive)                                                                       \
	X(test_door_loopback_hosts)                                                                                \
	X(test_door_path_normal_form)                                                                              \
	X(test_door_decisions)                                                                                     \
	X(test_door_names_the_client)                                                                              \
	X(test_door_admin_listener)                                                                                \
	X(test_status_render)                                                                                      \
	X(test_status_render_hostile_answers)                                                                     \
	X(test_http_reasons_and_connection_lists)                                                                  \
	X(test_config_defaults)                                                                                    \
	X(test_config_flags_win_over_env)                                                                          \
	X(test_config_errors_are_one_clear_line)                                                                   \
	X(test_config_upstream_forms)                                                                              \
	X(test_config_help_and_version)                                                                            \
	X(test_config_front_door_flags)                                                                            \
	X(test_config_accounts_and_guard_flags)                                                                           \
	X(test_config_booleans)                                                                            \
	X(test_config_admin_listen)                                                                                \
	X(test_config_help_layout)                                                                                 \
	X(test_http_hdrs_split_and_lookup)                                                                         \
	X(test_http_hdrs_limits)                                                                                   \
	X(test_http_lists_and_hop_by_hop)                                                                          \
	X(test_http_error_json_shape)                                                                              \
	X(test_rewrite_swaps_credentials_and_merges_beta)                                                          \
	X(test_rewrite_keeps_existing_oauth_beta_and_adds_missing)                                                 \
	X(test_rewrite_narrows_accept_encoding)                                                                    \
	X(test_oauth_parses_claude_code_file)                                                                      \
	X(test_oauth_rejects_bad_files_without_leaking_tokens)                                                     \
	X(test_oauth_write_back_keeps_every_other_key)                                                             \
	X(test_oauth_token_answer)                                                                                 \
	X(test_oauth_env_token_when_no_file_given)                                                                 \
	X(test_tracker_headers_generic_claims)                                                                     \
	X(test_tracker_caps_windows_from_the_network)                                                              \
	X(test_tracker_poll_window_shape)                                                                          \
	X(test_tracker_poll_limits_only_shape)                                                                     \
	X(test_tracker_limits_named_scoped_and_kept)                                                               \
	X(test_tracker_poll_precedence)                                                                            \
	X(test_tracker_model_family_table)                                                                         \
	X(test_tracker_window_applies_table)                                                                       \
	X(test_tracker_learns_bucket_scope_from_answers)                                                           \
	X(test_tracker_rollover_rule)                                                                              \
	X(test_tracker_rollover_when_reset_time_passes)                                                            \
	X(test_tracker_record_splits_and_models)                                                                   \
	X(test_tracker_warning_once_per_crossing)                                                                  \
	X(test_tracker_json_and_state_round_trip)                                                                  \
	X(test_tracker_parse_time)                                                                                 \
	X(test_tracker_burn_rate_and_projection)                                                                                 \
	X(test_tracker_poll_spend_forgiving)                                                                       \
	X(test_tracker_window_status_and_threshold)                                                                \
	X(test_usage_sse_every_split)                                                                              \
	X(test_usage_sse_crlf_and_cr_line_ends)                                                                    \
	X(test_usage_sse_without_event_lines)                                                                      \
	X(test_usage_sse_merge_last_value_wins)                                                                    \
	X(test_usage_sse_error_event)                                                                              \
	X(test_usage_sse_oversized_and_bad_events)                                                                 \
	X(test_usage_json_every_split)                                                                             \
	X(test_usage_json_count_tokens_and_error_body)                                                             \
	X(test_usage_json_memory_bounded)                                                                          \
	X(test_usage_json_cut_strings_stay_valid)                                                                  \
	X(test_usage_values_and_labels)                                                                            \
	X(test_usage_gzip_every_split)                                                                             \
	X(test_usage_deflate_zlib_and_raw)                                                                         \
	X(test_usage_corrupt_gzip)                                                                                 \
	X(test_usage_inactive)                                                                                     \
	X(test_url_parse_table)                                                                                    \
	X(test_url_split_hostport)                                                                                  \
	X(test_redis_url_table)                                                                                     \
	X(test_tracker_apply_shared_newest_first)                                                                   \
	X(test_clients_share_counts_the_fleet)                                                                      \
	X(test_backoff_doubles_caps_and_honours_retry_after)                                                      \
	X(test_backoff_jitter_stays_in_band)                                                                        \
	X(test_router_headroom_weighs_time_to_reset)                                                                      \
	X(test_router_picks_most_headroom_and_ties_by_load)                                                               \
	X(test_router_sticky_until_unusable)                                                                              \
	X(test_router_guard_blocks_and_explains)                                                                          \
	X(test_router_holds_from_answers)                                                                                 \
	X(test_router_overage_per_client)                                                                                 \
	X(test_clients_file_parse)                                                                                        \
	X(test_clients_table_keys_and_reload)                                                                             \
	X(test_clients_attribution_weights_and_pool)                                                                      \
	X(test_clients_all_named_traffic_sums_to_the_window)                                                              \
	X(test_clients_state_round_trip)                                                                                  \
	X(test_pins_lru_and_idle_expiry)                                                                                  \
	X(test_reqinfo_reads_top_level_model_and_session)                                                                 \
	X(test_account_names)                                                                                      \
	X(test_transport_plain_passes_bytes_through)                                                              \
	X(test_tls_cipher_order_follows_hardware)                                                                  \
	X(test_tls_ctx_reports_a_bad_ca_bundle)                                                                    \
	X(test_log_batched_until_the_loop_turn_ends)                                                               \
	X(test_log_overflow_writes_at_once_in_order)                                                               \
	X(test_log_numbers_and_time_format)                                                                               \
	X(test_log_full_pipe_retries_and_gone_reader_drops)                                                        \
	X(test_log_text_is_logfmt)

#define DECLARE(name) void name(void);
TESTS(DECLARE)

struct unit_test {
	const char *name; /* printed */
	void (*fn)(void); /* the test */
};

#define ENTRY(name) {#name, name},
static const struct unit_test tests[] = {TESTS(ENTRY)};

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;
	log_setup(AP_ERROR, 0); /* tests exercise error paths: keep their log lines out of the report */
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		unit_failed = 0;
		tests[i].fn();
		printf("%s %s\n", unit_failed ? "FAIL" : "ok  ", tests[i].name);
		unit_failed ? failed++ : passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
