#!/usr/bin/python3
"""A stand-in for Grafana, Loki, Tempo and Mimir, used only by this project's tests.

This is NOT the real program and must never be installed anywhere but a test host. No package
registry reachable from the test machines ships Grafana, Loki, Tempo or Mimir, so the test
artifact builder copies this one file into release-shaped archives under the real binary names.
The file picks its personality from the basename of argv[0] (`loki`, `mimir`, `tempo`,
`grafana`) and then imitates the parts of the real program that the deploys depend on:

- the command-line flags the deploys and systemd units pass (Go flag syntax, or Grafana's);
- strict configuration parsing: YAML (INI for Grafana) that does not parse, or that holds a key
  the real release would reject, is reported with the file and key path and exits 1;
- the config check modes (`-verify-config`, `-config.verify=true`, `-modules`, `-print.config`);
- binding every TCP port the real program would bind for that config, failing like it when a
  port is taken;
- readiness, health, `/metrics` and the write endpoints the stack pushes to, which count what
  they receive and store nothing;
- SIGTERM/SIGINT exit 0, SIGHUP re-reads the config.

It runs on the test hosts with Debian's `python3` and `python3-yaml` only. The key trees below
were written from the upstream configuration references of Loki 3.4, Tempo 2.6 and Mimir 2.11
(see `KNOWN_KEYS`); tests on the controller import them through `check_config`.
"""

from __future__ import annotations

import configparser
import fnmatch
import json
import os
import re
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

# The archive builder rewrites this line with the version it packages.
STANDIN_VERSION = "0.0.0"

PROGRAMS = ("loki", "mimir", "tempo", "grafana")

# A key tree maps each known key to None (a value whose contents are not checked), to a nested
# tree, to a one-element list holding the tree of every list entry, or to ANY (a block the
# stand-in does not model, such as cloud object stores; anything is accepted there).
ANY = "*"
Tree = dict[str, Any]


def _block(leaves: str, *merged: Any, **children: Any) -> Any:
    """Build one level of a key tree: space-separated leaf keys, inlined trees, child trees."""
    tree: Tree = dict.fromkeys(leaves.split())
    for inlined in merged:
        if inlined == ANY:
            return ANY
        tree.update(inlined)
    tree.update(children)
    return tree


def _ring(*extra: str) -> Any:
    """A dskit ring block: the key-value store plus the instance fields every ring has."""
    return _block(
        "heartbeat_period heartbeat_timeout instance_id instance_interface_names instance_port "
        "instance_addr instance_enable_ipv6 " + " ".join(extra),
        kvstore=_KVSTORE,
    )


def _lifecycler(kvstore: Tree) -> Any:
    """A dskit ring lifecycler block (ring.LifecyclerConfig) over the given key-value store."""
    return _block(
        "address availability_zone enable_inet6 final_sleep heartbeat_period heartbeat_timeout "
        "id interface_names join_after min_ready_duration num_tokens observe_period port "
        "readiness_check_ring_health tokens_file_path unregister_on_shutdown",
        ring=_block(
            "excluded_zones heartbeat_timeout replication_factor zone_awareness_enabled",
            kvstore=kvstore,
        ),
    )


_KVSTORE = _block("store prefix", consul=ANY, etcd=ANY, multi=ANY)


# --- Shared dskit blocks and Loki 3.4 (from the Loki 3.4 configuration reference) -------
# Upstream reuses one Go type in several places; each such block is written once below and
# referenced wherever that type appears.

_DSKIT_BACKOFF_CONFIG = _block("max_period max_retries min_period")

_DSKIT_MULTI_KV_CONFIG = _block("mirror_enabled mirror_timeout primary secondary")

_DSKIT_GRPC_CLIENT_CONFIG = _block(
    "backoff_on_ratelimits connect_backoff_base_delay connect_backoff_max_delay "
    "connect_timeout grpc_compression initial_connection_window_size "
    "initial_stream_window_size max_recv_msg_size max_send_msg_size rate_limit "
    "rate_limit_burst tls_ca_path tls_cert_path tls_cipher_suites tls_enabled "
    "tls_insecure_skip_verify tls_key_path tls_min_version tls_server_name",
    backoff_config=_DSKIT_BACKOFF_CONFIG,
)

_DSKIT_SERVER_TLS_CONFIG = _block(
    "cert cert_file client_auth_type client_ca client_ca_file key key_file",
)

# Prometheus common config types (prometheus/common config.URL and config.TLSConfig).
_PROMETHEUS_URL = _block("url")

_PROMETHEUS_TLS_CONFIG = _block(
    "ca ca_file ca_ref cert cert_file cert_ref insecure_skip_verify key key_file key_ref "
    "max_version min_version server_name",
)

_LOKI_RING_KVSTORE = _block(
    "prefix store",
    consul=ANY,
    etcd=ANY,
    multi=_DSKIT_MULTI_KV_CONFIG,
)

_LOKI_RING_CONFIG = _block(
    "heartbeat_period heartbeat_timeout instance_addr instance_availability_zone "
    "instance_enable_ipv6 instance_id instance_interface_names instance_port "
    "tokens_file_path zone_awareness_enabled",
    kvstore=_LOKI_RING_KVSTORE,
)

_LOKI_LIFECYCLER = _lifecycler(_LOKI_RING_KVSTORE)

_LOKI_HEDGING_CONFIG = _block("at max_per_second up_to")

_LOKI_CONGESTION_CONTROL = _block(
    "enabled",
    controller=_block(
        "strategy",
        aimd=_block("backoff_factor start upper_bound"),
    ),
    hedging=_block(
        "strategy",
        config=_LOKI_HEDGING_CONFIG,
    ),
    retry=_block("limit strategy"),
)

_LOKI_RESULTS_CACHE = _block(
    "compression",
    cache=ANY,
)

_LOKI_INDEX_GATEWAY_CLIENT = _block(
    "log_gateway_requests server_address",
    grpc_client_config=ANY,
)

_LOKI_RULER_LOCAL_CONFIG = _block("directory")

_LOKI_AUTOSCALING_CONFIG = _block(
    "enabled in_cooldown max_capacity min_capacity out_cooldown role_arn target",
)

_LOKI_PROVISION_CONFIG = _block(
    "enable_inactive_throughput_on_demand_mode enable_ondemand_throughput_mode "
    "inactive_read_scale_lastn inactive_read_throughput inactive_write_scale_lastn "
    "inactive_write_throughput provisioned_read_throughput provisioned_write_throughput",
    inactive_read_scale=_LOKI_AUTOSCALING_CONFIG,
    inactive_write_scale=_LOKI_AUTOSCALING_CONFIG,
    read_scale=_LOKI_AUTOSCALING_CONFIG,
    write_scale=_LOKI_AUTOSCALING_CONFIG,
)

_LOKI_ANALYTICS = _block(
    "proxy_url reporting_enabled usage_stats_url",
    tls_config=ANY,
)

_LOKI_CHUNK_STORE_CONFIG = _block(
    "cache_lookups_older_than l2_chunk_cache_handoff skip_query_writeback_cache_older_than",
    chunk_cache_config=ANY,
    chunk_cache_config_l2=ANY,
    write_dedupe_cache_config=ANY,
)

_LOKI_COMMON = _block(
    "compactor_address compactor_grpc_address instance_addr instance_interface_names "
    "path_prefix persist_tokens replication_factor",
    ring=_block(
        "heartbeat_period heartbeat_timeout instance_addr instance_availability_zone "
        "instance_enable_ipv6 instance_id instance_interface_names instance_port num_tokens "
        "replication_factor tokens_file_path zone_awareness_enabled",
        kvstore=_LOKI_RING_KVSTORE,
    ),
    storage=_block(
        "",
        alibabacloud=ANY,
        azure=ANY,
        bos=ANY,
        congestion_control=_LOKI_CONGESTION_CONTROL,
        cos=ANY,
        filesystem=_block(
            "chunks_directory rules_directory",
        ),
        gcs=ANY,
        hedging=_LOKI_HEDGING_CONFIG,
        object_store=ANY,
        s3=ANY,
        swift=ANY,
    ),
)

_LOKI_COMPACTOR = _block(
    "apply_retention_interval compaction_interval delete_batch_size delete_max_interval "
    "delete_request_cancel_period delete_request_store delete_request_store_key_prefix "
    "max_compaction_parallelism retention_delete_delay retention_delete_worker_count "
    "retention_enabled retention_table_timeout skip_latest_n_tables tables_to_compact "
    "upload_parallelism working_directory",
    compactor_ring=_LOKI_RING_CONFIG,
    retention_backoff_config=_DSKIT_BACKOFF_CONFIG,
)

_LOKI_DISTRIBUTOR = _block(
    "ingester_writes_enabled kafka_writes_enabled push_worker_count",
    otlp_config=_block(
        "default_resource_attributes_as_index_labels",
    ),
    rate_store=_block(
        "debug ingester_request_timeout max_request_parallelism stream_rate_update_interval",
    ),
    ring=_block(
        "heartbeat_period heartbeat_timeout instance_interface_names",
        kvstore=_LOKI_RING_KVSTORE,
    ),
    write_failures_logging=_block(
        "add_insights_label rate",
    ),
)

_DSKIT_MEMBERLIST = _block(
    "abort_if_cluster_join_fails advertise_addr advertise_port bind_addr bind_port "
    "broadcast_timeout_for_local_updates_on_shutdown cluster_label "
    "cluster_label_verification_disabled compression_enabled dead_node_reclaim_time "
    "gossip_interval gossip_nodes gossip_to_dead_nodes_time join_members leave_timeout "
    "left_ingesters_timeout max_join_backoff max_join_retries message_history_buffer_bytes "
    "min_join_backoff node_name packet_dial_timeout packet_write_timeout pull_push_interval "
    "randomize_node_name rejoin_interval retransmit_factor stream_timeout tls_ca_path "
    "tls_cert_path tls_cipher_suites tls_enabled tls_insecure_skip_verify tls_key_path "
    "tls_min_version tls_server_name",
    ANY,
)

_DSKIT_SERVER = _block(
    "graceful_shutdown_timeout grpc_listen_address grpc_listen_conn_limit grpc_listen_network "
    "grpc_listen_port grpc_server_keepalive_time grpc_server_keepalive_timeout "
    "grpc_server_max_concurrent_streams grpc_server_max_connection_age "
    "grpc_server_max_connection_age_grace grpc_server_max_connection_idle "
    "grpc_server_max_recv_msg_size grpc_server_max_send_msg_size "
    "grpc_server_min_time_between_pings grpc_server_num_workers "
    "grpc_server_ping_without_stream_allowed grpc_server_recv_buffer_pools_enabled "
    "grpc_server_stats_tracking_enabled http_listen_address http_listen_conn_limit "
    "http_listen_network http_listen_port http_log_closed_connections_without_response_enabled "
    "http_path_prefix http_server_idle_timeout http_server_read_header_timeout "
    "http_server_read_timeout http_server_write_timeout log_format log_level "
    "log_request_at_info_level_enabled log_request_exclude_headers_list log_request_headers "
    "log_source_ips_enabled log_source_ips_full log_source_ips_header log_source_ips_regex "
    "proxy_protocol_enabled register_instrumentation "
    "report_grpc_codes_in_instrumentation_label_enabled tls_cipher_suites tls_min_version",
    grpc_tls_config=_DSKIT_SERVER_TLS_CONFIG,
    http_tls_config=_DSKIT_SERVER_TLS_CONFIG,
)

_LOKI_FRONTEND = _block(
    "compress_responses downstream_url encoding graceful_shutdown_timeout "
    "instance_interface_names log_queries_longer_than log_query_request_headers max_body_size "
    "max_outstanding_per_tenant querier_forget_delay query_stats_enabled scheduler_address "
    "scheduler_dns_lookup_period scheduler_worker_concurrency support_parquet_encoding "
    "tail_proxy_url",
    grpc_client_config=ANY,
    tail_tls_config=ANY,
)

_LOKI_FRONTEND_WORKER = _block(
    "dns_lookup_duration frontend_address id scheduler_address",
    grpc_client_config=ANY,
    query_frontend_grpc_client=ANY,
    query_scheduler_grpc_client=ANY,
)

_LOKI_INDEX_GATEWAY = _block(
    "mode",
    ring=_block(
        "heartbeat_period heartbeat_timeout instance_addr instance_availability_zone "
        "instance_enable_ipv6 instance_id instance_interface_names instance_port "
        "replication_factor tokens_file_path zone_awareness_enabled",
        kvstore=_LOKI_RING_KVSTORE,
    ),
)

_LOKI_INGESTER = _block(
    "autoforget_unhealthy chunk_block_size chunk_encoding chunk_idle_period chunk_retain_period "
    "chunk_target_size concurrent_flushes flush_check_period flush_op_timeout index_shards "
    "max_chunk_age max_dropped_streams max_returned_stream_errors owned_streams_check_interval "
    "query_store_max_look_back_period shutdown_marker_path sync_min_utilization sync_period",
    flush_op_backoff=_DSKIT_BACKOFF_CONFIG,
    kafka_ingestion=_block(
        "enabled",
        partition_ring=_block(
            "delete_inactive_partition_after min_partition_owners_count "
            "min_partition_owners_duration",
            kvstore=_LOKI_RING_KVSTORE,
        ),
    ),
    lifecycler=_LOKI_LIFECYCLER,
    wal=_block(
        "checkpoint_duration dir enabled flush_on_shutdown replay_memory_ceiling",
    ),
)

_LOKI_INGESTER_CLIENT = _block(
    "remote_timeout",
    grpc_client_config=ANY,
    pool_config=_block(
        "client_cleanup_period health_check_ingesters remote_timeout",
    ),
)

_LOKI_ATTRIBUTES_CONFIG = _block(
    "action attributes regex",
)

_LOKI_LIMITS_CONFIG = _block(
    "allow_deletes allow_structured_metadata block_ingestion_status_code block_ingestion_until "
    "blocked_queries bloom_block_encoding bloom_build_builder_response_timeout "
    "bloom_build_max_builders bloom_build_task_max_retries bloom_creation_enabled "
    "bloom_gateway_enable_filtering bloom_max_block_size bloom_max_bloom_size "
    "bloom_planning_strategy bloom_prefetch_blocks bloom_split_series_keyspace_by "
    "bloom_task_target_series_chunk_size cardinality_limit creation_grace_period deletion_mode "
    "discover_log_levels discover_service_name enforced_labels increment_duplicate_timestamp "
    "index_gateway_shard_size ingestion_burst_size_mb ingestion_partitions_tenant_shard_size "
    "ingestion_rate_mb ingestion_rate_strategy log_level_fields max_cache_freshness_per_query "
    "max_chunks_per_query max_concurrent_tail_requests max_entries_limit_per_query "
    "max_global_streams_per_user max_label_name_length max_label_names_per_series "
    "max_label_value_length max_line_size max_line_size_truncate max_metadata_cache_freshness "
    "max_querier_bytes_read max_queriers_per_tenant max_query_bytes_read max_query_capacity "
    "max_query_length max_query_lookback max_query_parallelism max_query_range max_query_series "
    "max_stats_cache_freshness max_streams_matchers_per_query max_streams_per_user "
    "max_structured_metadata_entries_count max_structured_metadata_size "
    "metric_aggregation_enabled min_sharding_lookback minimum_labels_number "
    "per_stream_rate_limit per_stream_rate_limit_burst per_tenant_override_config "
    "per_tenant_override_period query_ready_index_num_days query_timeout "
    "recent_metadata_query_window reject_old_samples reject_old_samples_max_age required_labels "
    "retention_period retention_stream ruler_max_rule_groups_per_tenant "
    "ruler_max_rules_per_rule_group ruler_remote_evaluation_max_response_size "
    "ruler_remote_evaluation_timeout ruler_remote_write_config ruler_remote_write_disabled "
    "ruler_remote_write_headers ruler_remote_write_queue_batch_send_deadline "
    "ruler_remote_write_queue_capacity ruler_remote_write_queue_max_backoff "
    "ruler_remote_write_queue_max_samples_per_send ruler_remote_write_queue_max_shards "
    "ruler_remote_write_queue_min_backoff ruler_remote_write_queue_min_shards "
    "ruler_remote_write_queue_retry_on_ratelimit ruler_remote_write_relabel_configs "
    "ruler_remote_write_timeout ruler_remote_write_url ruler_tenant_shard_size "
    "s3_sse_kms_encryption_context s3_sse_kms_key_id s3_sse_type shard_aggregations "
    "split_ingester_queries_by_interval split_instant_metric_queries_by_interval "
    "split_metadata_queries_by_interval split_queries_by_interval "
    "split_recent_metadata_queries_by_interval tsdb_max_bytes_per_shard "
    "tsdb_max_query_parallelism tsdb_precompute_chunks tsdb_sharding_strategy unordered_writes "
    "use_owned_stream_count volume_enabled volume_max_series",
    discover_generic_fields=_block(
        "fields",
    ),
    otlp_config=_block(
        "",
        log_attributes=[_LOKI_ATTRIBUTES_CONFIG],
        resource_attributes=_block(
            "ignore_defaults",
            attributes_config=[_LOKI_ATTRIBUTES_CONFIG],
        ),
        scope_attributes=[_LOKI_ATTRIBUTES_CONFIG],
    ),
    ruler_remote_write_sigv4_config=_block(
        "access_key profile region role_arn secret_key",
    ),
    shard_streams=_block(
        "desired_rate enabled logging_enabled time_sharding_enabled time_sharding_ignore_recent",
    ),
)

_LOKI_OPERATIONAL_CONFIG = _block(
    "limited_log_push_errors log_duplicate_metrics log_duplicate_stream_info log_push_request "
    "log_push_request_streams log_stream_creation",
)

_LOKI_PROFILING = _block(
    "block_profile_rate cpu_profile_rate mutex_profile_fraction",
)

_LOKI_QUERIER = _block(
    "extra_query_delay max_concurrent multi_tenant_queries_enabled per_request_limits_enabled "
    "query_ingester_only query_ingesters_within query_partition_ingesters query_store_only "
    "tail_max_duration",
    engine=_block(
        "max_count_min_sketch_heap_size max_look_back_period",
    ),
)

_LOKI_QUERY_RANGE = _block(
    "align_queries_with_step cache_index_stats_results cache_instant_metric_results "
    "cache_label_results cache_results cache_series_results cache_volume_results "
    "instant_metric_query_split_align max_retries parallelise_shardable_queries "
    "shard_aggregations",
    index_stats_results_cache=_LOKI_RESULTS_CACHE,
    instant_metric_results_cache=_LOKI_RESULTS_CACHE,
    label_results_cache=_LOKI_RESULTS_CACHE,
    results_cache=_LOKI_RESULTS_CACHE,
    series_results_cache=_LOKI_RESULTS_CACHE,
    volume_results_cache=_LOKI_RESULTS_CACHE,
)

_LOKI_QUERY_SCHEDULER = _block(
    "max_outstanding_requests_per_tenant max_queue_hierarchy_levels querier_forget_delay "
    "use_scheduler_ring",
    grpc_client_config=ANY,
    scheduler_ring=_LOKI_RING_CONFIG,
)

_LOKI_RULER = _block(
    "alert_relabel_configs alertmanager_refresh_interval alertmanager_url datasource_uid "
    "disable_rule_group_label disabled_tenants enable_alertmanager_discovery "
    "enable_alertmanager_v2 enable_api enable_sharding enabled_tenants evaluation_interval "
    "external_labels external_url flush_period for_grace_period for_outage_tolerance "
    "notification_queue_capacity notification_timeout poll_interval query_stats_enabled "
    "resend_delay rule_path search_pending_for sharding_algo sharding_strategy",
    alertmanager_client=_block(
        "basic_auth_password basic_auth_username credentials credentials_file type",
        ANY,
    ),
    evaluation=_block(
        "max_jitter mode",
        query_frontend=_block(
            "address tls_enabled",
            ANY,
        ),
    ),
    remote_write=_block(
        "add_org_id_header client clients config_refresh_period enabled",
    ),
    ring=_block(
        "heartbeat_period heartbeat_timeout instance_interface_names num_tokens",
        kvstore=_LOKI_RING_KVSTORE,
    ),
    ruler_client=ANY,
    storage=_block(
        "type",
        alibabacloud=ANY,
        azure=ANY,
        bos=ANY,
        cos=ANY,
        gcs=ANY,
        local=_LOKI_RULER_LOCAL_CONFIG,
        s3=ANY,
        swift=ANY,
    ),
    wal=_block(
        "dir max_age min_age truncate_frequency",
    ),
    wal_cleaner=_block(
        "min_age period",
    ),
)

_LOKI_RUNTIME_CONFIG = _block(
    "file period",
)

_LOKI_PERIOD_CONFIG = _block(
    "from object_store row_shards schema store",
    chunks=_block(
        "period prefix tags",
    ),
    index=_block(
        "path_prefix period prefix tags",
    ),
)

_LOKI_SCHEMA_CONFIG = _block(
    "",
    configs=[_LOKI_PERIOD_CONFIG],
)

_LOKI_LOCAL_STORAGE_CONFIG = _block(
    "directory",
)

_LOKI_STORAGE_CONFIG = _block(
    "disable_broad_index_queries index_cache_validity max_chunk_batch_size "
    "max_parallel_get_chunk object_prefix use_thanos_objstore",
    alibabacloud=ANY,
    aws=ANY,
    azure=ANY,
    bigtable=_block(
        "instance project table_cache_enabled table_cache_expiration",
        grpc_client_config=ANY,
    ),
    bloom_shipper=_block(
        "download_parallelism max_query_page_size working_directory",
        blocks_cache=_block(
            "hard_limit soft_limit ttl",
        ),
        metas_cache=ANY,
        metas_lru_cache=_block(
            "enabled max_size_items max_size_mb ttl",
        ),
    ),
    boltdb=_block(
        "directory",
    ),
    boltdb_shipper=_block(
        "active_index_directory build_per_tenant_index cache_location cache_ttl "
        "ingesterdbretainperiod ingestername mode query_ready_num_days resync_interval",
        index_gateway_client=_LOKI_INDEX_GATEWAY_CLIENT,
    ),
    bos=ANY,
    cassandra=_block(
        "CA_path SSL addresses auth connect_timeout consistency convict_hosts_on_failure "
        "custom_authenticators disable_initial_host_lookup host_selection_policy "
        "host_verification keyspace max_retries num_connections password password_file port "
        "query_concurrency reconnect_interval replication_factor retry_max_backoff "
        "retry_min_backoff table_options timeout tls_cert_path tls_key_path username",
    ),
    congestion_control=_LOKI_CONGESTION_CONTROL,
    cos=ANY,
    filesystem=_LOKI_LOCAL_STORAGE_CONFIG,
    gcs=ANY,
    grpc_store=_block(
        "server_address",
    ),
    hedging=_LOKI_HEDGING_CONFIG,
    index_queries_cache_config=ANY,
    named_stores=ANY,
    object_store=_block(
        "",
        ANY,
        named_stores=_block(
            "azure filesystem gcs s3 swift",
        ),
    ),
    swift=ANY,
    tsdb_shipper=_block(
        "active_index_directory cache_location cache_ttl ingesterdbretainperiod ingestername "
        "mode query_ready_num_days resync_interval",
        index_gateway_client=_LOKI_INDEX_GATEWAY_CLIENT,
    ),
)

_LOKI_TABLE_MANAGER = _block(
    "creation_grace_period poll_interval retention_deletes_enabled retention_period "
    "throughput_updates_disabled",
    chunk_tables_provisioning=_LOKI_PROVISION_CONFIG,
    index_tables_provisioning=_LOKI_PROVISION_CONFIG,
)

_LOKI_TRACING = _block(
    "enabled",
)

_LOKI_ROOT = _block(
    "auth_enabled ballast_bytes metrics_namespace shutdown_delay target",
    analytics=_LOKI_ANALYTICS,
    block_builder=_block(
        "chunk_block_size chunk_encoding chunk_target_size concurrent_flushes "
        "concurrent_writers max_chunk_age poll_interval scheduler_address sync_interval "
        "worker_parallelism",
        backoff_config=_DSKIT_BACKOFF_CONFIG,
        scheduler_grpc_client_config=ANY,
    ),
    block_scheduler=_block(
        "interval lookback_period strategy target_record_count",
        job_queue=_block(
            "lease_duration lease_expiry_check_interval",
        ),
    ),
    bloom_build=ANY,
    bloom_gateway=ANY,
    chunk_store_config=_LOKI_CHUNK_STORE_CONFIG,
    common=_LOKI_COMMON,
    compactor=_LOKI_COMPACTOR,
    compactor_grpc_client=_block(
        "",
        ANY,
    ),
    dataobj_explorer=_block(
        "storage_bucket_prefix",
    ),
    distributor=_LOKI_DISTRIBUTOR,
    frontend=_LOKI_FRONTEND,
    frontend_worker=_LOKI_FRONTEND_WORKER,
    index_gateway=_LOKI_INDEX_GATEWAY,
    ingester=_LOKI_INGESTER,
    ingester_client=_LOKI_INGESTER_CLIENT,
    kafka_config=_block(
        "address auto_create_topic_default_partitions auto_create_topic_enabled client_id "
        "consumer_group consumer_group_offset_commit_interval dial_timeout "
        "last_produced_offset_retry_timeout max_consumer_lag_at_startup "
        "producer_max_buffered_bytes producer_max_record_size_bytes sasl_password sasl_username "
        "topic write_timeout",
    ),
    limits_config=_LOKI_LIMITS_CONFIG,
    memberlist=_DSKIT_MEMBERLIST,
    operational_config=_LOKI_OPERATIONAL_CONFIG,
    pattern_ingester=_block(
        "concurrent_flushes connection_timeout enabled flush_check_period "
        "max_allowed_line_length max_clusters max_eviction_ratio",
        client_config=_LOKI_INGESTER_CLIENT,
        lifecycler=_LOKI_LIFECYCLER,
        metric_aggregation=_block(
            "downsample_period loki_address push_period timeout use_tls",
            backoff_config=_DSKIT_BACKOFF_CONFIG,
            basic_auth=_block(
                "password username",
            ),
            http_client_config=_block(
                "bearer_token bearer_token_file enable_http2 follow_redirects no_proxy "
                "proxy_connect_header proxy_from_environment",
                authorization=_block(
                    "credentials credentials_file credentials_ref type",
                ),
                basic_auth=_block(
                    "password password_file password_ref username username_file username_ref",
                ),
                http_headers=ANY,
                oauth2=_block(
                    "client_id client_secret client_secret_file client_secret_ref "
                    "endpoint_params no_proxy proxy_connect_header proxy_from_environment "
                    "scopes token_url",
                    proxy_url=_PROMETHEUS_URL,
                    tls_config=_PROMETHEUS_TLS_CONFIG,
                ),
                proxy_url=_PROMETHEUS_URL,
                tls_config=_PROMETHEUS_TLS_CONFIG,
            ),
        ),
        tee_config=_block(
            "batch_flush_interval batch_size flush_queue_size flush_worker_count "
            "stop_flush_timeout",
        ),
    ),
    profiling=_LOKI_PROFILING,
    querier=_LOKI_QUERIER,
    query_range=_LOKI_QUERY_RANGE,
    query_scheduler=_LOKI_QUERY_SCHEDULER,
    ruler=_LOKI_RULER,
    ruler_storage=_block(
        "backend",
        ANY,
        local=_LOKI_RULER_LOCAL_CONFIG,
    ),
    runtime_config=_LOKI_RUNTIME_CONFIG,
    schema_config=_LOKI_SCHEMA_CONFIG,
    server=_DSKIT_SERVER,
    storage_config=_LOKI_STORAGE_CONFIG,
    table_manager=_LOKI_TABLE_MANAGER,
    tracing=_LOKI_TRACING,
)


# --- Tempo 2.6 (from the Tempo 2.6 manifest and configuration reference) ---------------

_TEMPO_RING_KVSTORE = _block(
    "prefix store",
    consul=_block(
        "acl_token cas_retry_delay consistent_reads host http_client_timeout "
        "watch_burst_size watch_rate_limit",
    ),
    etcd=_block(
        "dial_timeout endpoints max_retries password tls_ca_path tls_cert_path "
        "tls_cipher_suites tls_enabled tls_insecure_skip_verify tls_key_path "
        "tls_min_version tls_server_name username",
    ),
    multi=_DSKIT_MULTI_KV_CONFIG,
)

_TEMPO_LIFECYCLER = _lifecycler(_TEMPO_RING_KVSTORE)

# ingester_client.Config and generator_client.Config have the same keys.
_TEMPO_CLIENT_CONFIG = _block(
    "remote_timeout",
    grpc_client_config=_DSKIT_GRPC_CLIENT_CONFIG,
    pool_config=_block(
        "checkinterval healthcheckenabled healthchecktimeout maxconcurrenthealthchecks",
    ),
)

_TEMPO_BLOCK_CONFIG = _block(
    "bloom_filter_false_positive bloom_filter_shard_size_bytes "
    "parquet_dedicated_columns parquet_row_group_size_bytes search_encoding "
    "search_page_size_bytes v2_encoding v2_index_downsample_bytes "
    "v2_index_page_size_bytes version",
)

_TEMPO_WAL_CONFIG = _block(
    "ingestion_time_range_slack path search_encoding v2_encoding version",
)

_TEMPO_ROOT = _block(
    "auth_enabled enable_go_runtime_metrics http_api_prefix multitenancy_enabled shutdown_delay "
    "stream_over_http_enabled target use_otel_tracer",
    cache=ANY,
    compactor=_block(
        "override_ring_key",
        compaction=_block(
            "block_retention compacted_block_retention compaction_cycle compaction_window "
            "max_block_bytes max_compaction_objects max_time_per_tenant retention_concurrency "
            "v2_in_buffer_bytes v2_out_buffer_bytes v2_prefetch_traces_count",
        ),
        ring=_block(
            "enable_inet6 heartbeat_period heartbeat_timeout instance_addr instance_id "
            "instance_interface_names instance_port wait_active_instance_timeout "
            "wait_stability_max_duration wait_stability_min_duration",
            kvstore=_TEMPO_RING_KVSTORE,
        ),
    ),
    distributor=_block(
        "extend_writes forwarders override_ring_key retry_after_on_resource_exhausted",
        log_received_spans=_block(
            "enabled filter_by_status_error include_all_attributes",
        ),
        metric_received_spans=_block(
            "enabled root_only",
        ),
        receivers=_block(
            "",
            jaeger=ANY,
            kafka=ANY,
            opencensus=ANY,
            otlp=_block(
                "",
                protocols=_block(
                    "",
                    grpc=_block(
                        "auth endpoint include_metadata max_concurrent_streams "
                        "max_recv_msg_size_mib read_buffer_size transport write_buffer_size",
                        keepalive=ANY,
                        tls=ANY,
                    ),
                    http=_block(
                        "auth compression_algorithms endpoint include_metadata logs_url "
                        "max_request_body_size metrics_url traces_url",
                        cors=ANY,
                        response_headers=ANY,
                        tls=ANY,
                    ),
                ),
            ),
            zipkin=ANY,
        ),
        ring=_block(
            "heartbeat_period heartbeat_timeout instance_addr instance_id "
            "instance_interface_names instance_port",
            kvstore=_TEMPO_RING_KVSTORE,
        ),
    ),
    ingester=_block(
        "complete_block_timeout concurrent_flushes flush_all_on_shutdown flush_check_period "
        "flush_op_timeout max_block_bytes max_block_duration override_ring_key "
        "trace_idle_period",
        lifecycler=_TEMPO_LIFECYCLER,
    ),
    ingester_client=_TEMPO_CLIENT_CONFIG,
    internal_server=ANY,
    memberlist=_DSKIT_MEMBERLIST,
    metrics_generator=_block(
        "metrics_ingestion_time_range_slack override_ring_key query_timeout",
        processor=_block(
            "",
            local_blocks=_block(
                "complete_block_timeout concurrent_blocks filter_server_spans "
                "flush_check_period flush_to_storage max_block_bytes max_block_duration "
                "max_live_traces time_overlap_cutoff trace_idle_period",
                block=_TEMPO_BLOCK_CONFIG,
                search=_block(
                    "chunk_size_bytes prefetch_trace_count read_buffer_count "
                    "read_buffer_size_bytes",
                    cache_control=_block(
                        "column_index footer offset_index",
                    ),
                ),
            ),
            service_graphs=_block(
                "dimensions enable_client_server_prefix "
                "enable_messaging_system_latency_histogram enable_virtual_node_label "
                "histogram_buckets max_items peer_attributes span_multiplier_key wait workers",
            ),
            span_metrics=_block(
                "dimension_mappings dimensions enable_target_info filter_policies "
                "histogram_buckets span_multiplier_key target_info_excluded_dimensions",
                intrinsic_dimensions=_block(
                    "service span_kind span_name status_code status_message",
                ),
                subprocessors=_block(
                    "0 1 2",
                ),
            ),
        ),
        registry=_block(
            "collection_interval inject_tenant_id_as max_label_name_length "
            "max_label_value_length stale_duration",
            external_labels=ANY,
        ),
        ring=_block(
            "enable_inet6 heartbeat_period heartbeat_timeout instance_addr instance_id "
            "instance_interface_names instance_port",
            kvstore=_TEMPO_RING_KVSTORE,
        ),
        storage=_block(
            "path remote_write_add_org_id_header remote_write_flush_deadline",
            remote_write=[
                _block(
                    "bearer_token bearer_token_file enable_http2 follow_redirects headers "
                    "http_headers name no_proxy protobuf_message proxy_connect_header "
                    "proxy_from_environment proxy_url remote_timeout round_robin_dns "
                    "send_exemplars "
                    "send_native_histograms url write_relabel_configs",
                    authorization=ANY,
                    azuread=ANY,
                    basic_auth=ANY,
                    google_iam=ANY,
                    metadata_config=ANY,
                    oauth2=ANY,
                    queue_config=ANY,
                    sigv4=ANY,
                    tls_config=ANY,
                )
            ],
            wal=_block(
                "max_wal_time min_wal_time no_lockfile stripe_size truncate_frequency "
                "wal_compression wal_segment_size",
            ),
        ),
        traces_storage=_TEMPO_WAL_CONFIG,
    ),
    metrics_generator_client=_TEMPO_CLIENT_CONFIG,
    overrides=_block(
        "block_retention compaction_disabled compaction_window forwarders "
        "ingestion_burst_size_bytes ingestion_rate_limit_bytes ingestion_rate_strategy "
        "ingestion_tenant_shard_size max_blocks_per_tag_values_query "
        "max_bytes_per_tag_values_query max_bytes_per_trace max_global_traces_per_user "
        "max_metrics_duration max_search_duration max_traces_per_user "
        "metrics_generator_collection_interval metrics_generator_disable_collection "
        "metrics_generator_forwarder_queue_size metrics_generator_forwarder_workers "
        "metrics_generator_generate_native_histograms "
        "metrics_generator_ingestion_time_range_slack metrics_generator_max_active_series "
        "metrics_generator_processor_local_blocks_complete_block_timeout "
        "metrics_generator_processor_local_blocks_flush_check_period "
        "metrics_generator_processor_local_blocks_max_block_bytes "
        "metrics_generator_processor_local_blocks_max_block_duration "
        "metrics_generator_processor_local_blocks_max_live_traces "
        "metrics_generator_processor_local_blocks_trace_idle_period "
        "metrics_generator_processor_service_graphs_dimensions "
        "metrics_generator_processor_service_graphs_enable_client_server_prefix "
        "metrics_generator_processor_service_graphs_enable_messaging_system_latency_histogram "
        "metrics_generator_processor_service_graphs_enable_virtual_node_label "
        "metrics_generator_processor_service_graphs_histogram_buckets "
        "metrics_generator_processor_service_graphs_peer_attributes "
        "metrics_generator_processor_span_metrics_dimension_mappings "
        "metrics_generator_processor_span_metrics_dimensions "
        "metrics_generator_processor_span_metrics_enable_target_info "
        "metrics_generator_processor_span_metrics_filter_policies "
        "metrics_generator_processor_span_metrics_histogram_buckets "
        "metrics_generator_processor_span_metrics_intrinsic_dimensions "
        "metrics_generator_processor_span_metrics_target_info_excluded_dimensions "
        "metrics_generator_processors metrics_generator_remote_write_headers "
        "metrics_generator_ring_size metrics_generator_trace_id_label_name "
        "parquet_dedicated_columns per_tenant_override_config per_tenant_override_period "
        "unsafe_query_hints",
        defaults=_block(
            "forwarders",
            compaction=_block(
                "block_retention compaction_disabled compaction_window",
            ),
            **{
                "global": _block(
                    "max_bytes_per_trace",
                )
            },
            ingestion=_block(
                "burst_size_bytes max_global_traces_per_user max_traces_per_user "
                "rate_limit_bytes rate_strategy tenant_shard_size",
            ),
            metrics_generator=_block(
                "collection_interval disable_collection generate_native_histograms "
                "ingestion_time_range_slack max_active_series processors remote_write_headers "
                "ring_size trace_id_label_name",
                forwarder=_block(
                    "queue_size workers",
                ),
                processor=_block(
                    "",
                    local_blocks=_block(
                        "complete_block_timeout flush_check_period max_block_bytes "
                        "max_block_duration max_live_traces trace_idle_period",
                    ),
                    service_graphs=_block(
                        "dimensions enable_client_server_prefix "
                        "enable_messaging_system_latency_histogram enable_virtual_node_label "
                        "histogram_buckets peer_attributes",
                    ),
                    span_metrics=_block(
                        "dimension_mappings dimensions enable_target_info filter_policies "
                        "histogram_buckets intrinsic_dimensions target_info_excluded_dimensions",
                    ),
                ),
            ),
            read=_block(
                "max_blocks_per_tag_values_query max_bytes_per_tag_values_query "
                "max_metrics_duration max_search_duration unsafe_query_hints",
            ),
            storage=_block(
                "parquet_dedicated_columns",
            ),
        ),
        user_configurable_overrides=ANY,
    ),
    querier=_block(
        "max_concurrent_queries query_relevant_ingesters shuffle_sharding_ingesters_enabled "
        "shuffle_sharding_ingesters_lookback_period",
        frontend_worker=_block(
            "dns_lookup_duration frontend_address id match_max_concurrent parallelism",
            grpc_client_config=_DSKIT_GRPC_CLIENT_CONFIG,
        ),
        metrics=_block(
            "concurrent_blocks time_overlap_cutoff",
        ),
        search=_block(
            "external_backend external_endpoints external_hedge_requests_at "
            "external_hedge_requests_up_to google_cloud_run prefer_self query_timeout",
        ),
        trace_by_id=_block(
            "query_timeout",
        ),
    ),
    query_frontend=_block(
        "api_timeout log_query_request_headers max_batch_size max_outstanding_per_tenant "
        "max_retries multi_tenant_queries_enabled querier_forget_delay response_consumers "
        "url_deny_list",
        metrics=_block(
            "concurrent_jobs duration_slo exemplars interval max_duration max_exemplars "
            "query_backend_after target_bytes_per_job throughput_bytes_slo timeout",
        ),
        search=_block(
            "concurrent_jobs default_result_limit duration_slo ingester_shards max_duration "
            "max_result_limit max_spans_per_span_set query_backend_after query_ingesters_until "
            "target_bytes_per_job throughput_bytes_slo timeout",
        ),
        trace_by_id=_block(
            "concurrent_shards duration_slo query_shards throughput_bytes_slo",
        ),
    ),
    server=_DSKIT_SERVER,
    storage=_block(
        "",
        trace=_block(
            "backend blocklist_poll blocklist_poll_concurrency blocklist_poll_fallback "
            "blocklist_poll_jitter_ms blocklist_poll_stale_tenant_index "
            "blocklist_poll_tenant_index_builders blocklist_poll_tolerate_consecutive_errors "
            "cache_max_block_age cache_min_compaction_level empty_tenant_deletion_age "
            "empty_tenant_deletion_enabled pool",
            azure=ANY,
            background_cache=ANY,
            block=_TEMPO_BLOCK_CONFIG,
            cache=ANY,
            gcs=ANY,
            local=_block(
                "path",
            ),
            memcached=ANY,
            redis=ANY,
            s3=ANY,
            search=ANY,
            wal=_TEMPO_WAL_CONFIG,
        ),
    ),
    usage_report=_block(
        "reporting_enabled",
        backoff=_DSKIT_BACKOFF_CONFIG,
    ),
)


# --- Mimir 2.11 -----------------------------------------------------------------------------
# Written by hand from the Mimir configuration parameters reference. Blocks the single-binary
# deploy uses are checked key by key; deep tuning blocks (TSDB internals, bucket-store caches,
# the alertmanager) are ANY.
# TODO: bucket_store and tsdb are ANY, so a typo inside them passes; listing their ~80 tuning
# keys per release was not worth it for the keys the deploys set (tsdb.dir, sync_dir).

_MIMIR_FILESYSTEM = _block("dir")

_MIMIR_OBJECT_STORE = _block(
    "backend storage_prefix",
    filesystem=_MIMIR_FILESYSTEM,
    local=_block("path"),
    s3=ANY,
    gcs=ANY,
    azure=ANY,
    swift=ANY,
)

_MIMIR_LIMITS = _block(
    "request_rate request_burst_size ingestion_rate ingestion_burst_size ingestion_burst_factor "
    "accept_ha_samples ha_cluster_label ha_replica_label ha_max_clusters "
    "ha_tracker_update_timeout ha_tracker_update_timeout_jitter_max ha_tracker_failover_timeout "
    "drop_labels max_label_name_length max_label_value_length max_label_names_per_series "
    "max_label_names_per_info_series max_metadata_length max_native_histogram_buckets "
    "max_exemplars_per_series_per_request reduce_native_histogram_over_max_buckets "
    "creation_grace_period past_grace_period enforce_metadata_metric_name "
    "ingestion_tenant_shard_size metric_relabel_configs metric_relabeling_enabled "
    "service_overload_status_code_on_rate_limit_enabled max_global_series_per_user "
    "max_global_series_per_metric max_global_metadata_per_user max_global_metadata_per_metric "
    "max_global_exemplars_per_user ignore_ooo_exemplars native_histograms_ingestion_enabled "
    "active_series_custom_trackers active_series_additional_custom_trackers "
    "out_of_order_time_window out_of_order_blocks_external_label_enabled "
    "separate_metrics_group_label max_fetched_chunks_per_query "
    "max_estimated_fetched_chunks_per_query_multiplier max_fetched_series_per_query "
    "max_fetched_chunk_bytes_per_query max_estimated_memory_consumption_per_query "
    "max_query_lookback max_partial_query_length max_query_parallelism "
    "max_labels_query_length max_series_query_limit max_cache_freshness "
    "max_queriers_per_tenant query_sharding_total_shards query_sharding_max_sharded_queries "
    "query_sharding_max_regexp_size_bytes query_ingesters_within max_total_query_length "
    "results_cache_ttl results_cache_ttl_for_out_of_order_time_window "
    "results_cache_ttl_for_cardinality_query results_cache_ttl_for_labels_query "
    "results_cache_ttl_for_errors results_cache_forced_ttl cache_unaligned_requests "
    "max_query_expression_size_bytes blocked_queries limited_queries blocked_requests "
    "align_queries_with_step enabled_promql_experimental_functions prom2_range_compat "
    "subquery_spin_off_enabled labels_query_optimizer_enabled cardinality_analysis_enabled "
    "label_names_and_values_results_max_size_bytes "
    "label_values_max_cardinality_label_names_per_request cardinality_analysis_max_results "
    "active_series_results_max_size_bytes cost_attribution_labels "
    "cost_attribution_labels_structured max_cost_attribution_cardinality "
    "cost_attribution_cooldown split_instant_queries_by_interval max_query_length "
    "max_series_per_query otel_metric_suffixes_enabled "
    "otel_created_timestamp_zero_ingestion_enabled "
    "promote_otel_resource_attributes max_active_or_inactive_series "
    "query_ingesters_within native_histograms_ingestion_enabled "
    "ruler_* compactor_* store_gateway_* alertmanager_* s3_sse_* "
    "out_of_order_* otel_* max_global_exemplars_per_user",
)
# The wildcard entries accept whole families of per-tenant limits (ruler_*, compactor_*,
# alertmanager_*, ...) whose members change from release to release: accepting a real key
# matters more here than catching a typo inside those families.

_MIMIR_ROOT = _block(
    "target multitenancy_enabled no_auth_tenant shutdown_delay "
    "max_separate_metrics_groups_per_user enable_go_runtime_metrics "
    "include_tenant_id_in_profile_labels timeseries_unmarshal_caching_optimization_enabled",
    api=_block(
        "skip_label_name_validation_header_enabled skip_label_count_validation_header_enabled "
        "alertmanager_http_prefix prometheus_http_prefix",
    ),
    server=_DSKIT_SERVER,
    distributor=_block(
        "max_recv_msg_size max_otlp_request_size max_request_pool_buffer_size remote_timeout "
        "write_requests_buffer_pooling_enabled limit_inflight_requests_using_grpc_method_limiter "
        "reusable_ingester_push_workers",
        pool=_block("health_check_ingesters"),
        ring=_ring(),
        ha_tracker=ANY,
        instance_limits=ANY,
        retry_after_header=ANY,
    ),
    querier=_block(
        "max_concurrent timeout query_store_after max_query_into_future "
        "shuffle_sharding_ingesters_enabled prefer_streaming_chunks_from_ingesters "
        "prefer_streaming_chunks_from_store_gateways "
        "streaming_chunks_per_ingester_series_buffer_size "
        "streaming_chunks_per_store_gateway_series_buffer_size minimize_ingester_requests "
        "minimize_ingester_requests_hedging_delay query_engine enable_query_engine_fallback "
        "max_samples default_evaluation_interval lookback_delta "
        "promql_experimental_functions_enabled batch_iterators query_ingesters_within",
        store_gateway_client=ANY,
        mimir_query_engine=ANY,
    ),
    ingester_client=ANY,
    ingester=_block(
        "metadata_retain_period rate_update_period active_series_metrics_enabled "
        "active_series_metrics_update_period active_series_metrics_idle_timeout "
        "ignore_series_limit_for_metric_names read_path_cpu_utilization_limit "
        "read_path_memory_utilization_limit log_utilization_based_limiter_cpu_samples "
        "error_sample_rate use_ingester_owned_series_for_limits track_ingester_owned_series "
        "owned_series_update_interval push_grpc_method_enabled "
        "limit_inflight_requests_using_grpc_method_limiter return_only_grpc_errors",
        ring=_ring(
            "replication_factor zone_awareness_enabled excluded_zones tokens_file_path num_tokens "
            "observe_period min_ready_duration final_sleep instance_availability_zone "
            "unregister_on_shutdown readiness_check_ring_health token_generation_strategy "
            "spread_minimizing_join_ring_in_order spread_minimizing_zones",
        ),
        instance_limits=ANY,
    ),
    flusher=ANY,
    limits=_MIMIR_LIMITS,
    frontend_worker=ANY,
    frontend=_block(
        "log_queries_longer_than log_query_request_headers max_body_size query_stats_enabled "
        "querier_forget_delay max_outstanding_per_tenant scheduler_address "
        "scheduler_dns_lookup_period scheduler_worker_concurrency instance_interface_names "
        "instance_enable_ipv6 instance_addr instance_port split_queries_by_interval "
        "cache_results max_retries not_running_timeout shard_active_series_queries "
        "use_active_series_decoder query_result_response_format cache_samples_processed_stats "
        "parallelize_shardable_queries cache_errors downstream_url "
        "query_sharding_target_series_per_shard additional_query_queue_dimensions_enabled "
        "spin_off_instant_subqueries_to_url",
        grpc_client_config=ANY,
        results_cache=ANY,
    ),
    ingest_storage=ANY,
    blocks_storage=_block(
        "backend storage_prefix",
        filesystem=_MIMIR_FILESYSTEM,
        s3=ANY,
        gcs=ANY,
        azure=ANY,
        swift=ANY,
        bucket_store=ANY,
        tsdb=ANY,
    ),
    compactor=_block(
        "block_ranges block_sync_concurrency meta_sync_concurrency data_dir compaction_interval "
        "compaction_retries compaction_concurrency first_level_compaction_wait_period "
        "cleanup_interval cleanup_concurrency deletion_delay tenant_cleanup_delay "
        "max_compaction_time no_blocks_file_cleanup_enabled max_opening_blocks_concurrency "
        "max_closing_blocks_concurrency symbols_flushers_concurrency "
        "max_block_upload_validation_concurrency enabled_tenants disabled_tenants "
        "compaction_jobs_order upload_sparse_index_headers sparse_index_headers_sampling_rate",
        sharding_ring=_ring(
            "wait_stability_min_duration wait_stability_max_duration "
            "wait_active_instance_timeout auto_forget_unhealthy_periods",
        ),
        sparse_index_headers_config=ANY,
    ),
    store_gateway=_block(
        "enabled_tenants disabled_tenants",
        sharding_ring=_ring(
            "replication_factor tokens_file_path zone_awareness_enabled unregister_on_shutdown "
            "instance_availability_zone num_tokens auto_forget_enabled "
            "wait_stability_min_duration wait_stability_max_duration",
        ),
    ),
    tenant_federation=_block("enabled max_concurrent max_tenants"),
    activity_tracker=_block("filepath max_entries"),
    vault=ANY,
    # `enable_api` is the real key (CLI flag -ruler.enable-api), not `api_enabled`.
    ruler=_block(
        "external_url external_labels evaluation_interval poll_interval rule_path "
        "alertmanager_url alertmanager_refresh_interval notification_queue_capacity "
        "notification_timeout for_outage_tolerance for_grace_period resend_delay "
        "enabled_tenants disabled_tenants query_stats_enabled enable_api "
        "outbound_sync_queue_poll_interval inbound_sync_queue_poll_interval "
        "max_independent_rule_evaluation_concurrency "
        "independent_rule_evaluation_concurrency_min_duration_percentage "
        "rule_evaluation_write_enabled tenant_federation",
        ring=ANY,
        alertmanager_client=ANY,
        query_frontend=ANY,
    ),
    ruler_storage=_MIMIR_OBJECT_STORE,
    alertmanager=ANY,
    alertmanager_storage=_MIMIR_OBJECT_STORE,
    runtime_config=_block("period file"),
    memberlist=_DSKIT_MEMBERLIST,
    query_scheduler=ANY,
    usage_stats=_block("enabled installation_mode"),
    overrides_exporter=ANY,
    common=_block("", storage=_MIMIR_OBJECT_STORE),
)

KNOWN_KEYS: dict[str, Tree] = {"loki": _LOKI_ROOT, "tempo": _TEMPO_ROOT, "mimir": _MIMIR_ROOT}


# --- Config checks --------------------------------------------------------------------------


def _key_allowed(tree: Tree, key: str) -> Any:
    """Return the subtree for key, or raise KeyError when the real program would reject it."""
    if key in tree:
        return tree[key]
    for pattern, subtree in tree.items():
        if "*" in pattern and fnmatch.fnmatchcase(key, pattern):
            return subtree
    raise KeyError(key)


def _check_node(node: yaml.Node, tree: Any, path: str, section: str, errors: list[str]) -> None:
    # Only keys are checked: a value of the wrong shape (a string where a block is expected)
    # is left alone, because the doc-generated trees sometimes model a URL as a block.
    if tree == ANY or tree is None:
        return
    if isinstance(tree, list):
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                _check_node(item, tree[0], f"{path}[{index}]", section, errors)
        return
    if not isinstance(node, yaml.MappingNode):
        return
    for key_node, value_node in node.value:
        key = str(key_node.value)
        key_path = f"{path}.{key}" if path else key
        try:
            subtree = _key_allowed(tree, key)
        except KeyError:
            line = key_node.start_mark.line + 1
            errors.append(f"line {line}: field {key_path} not found in type {section}")
            continue
        _check_node(value_node, subtree, key_path, section or key, errors)


def expand_env(program: str, text: str, environ: dict[str, str] | None = None) -> str:
    """Expand ${VAR} references the way -config.expand-env does for the given program."""
    env = os.environ if environ is None else environ
    # Mimir writes defaults as ${VAR:default}; Loki and Tempo as ${VAR:-default}.
    separator = ":" if program == "mimir" else ":-"

    def replace(match: re.Match[str]) -> str:
        name, _, default = match.group(1).partition(separator)
        return env.get(name, default)

    return re.sub(r"\$\{([^}]+)\}", replace, text)


def check_config(program: str, text: str) -> list[str]:
    """Return the errors the real program would report for this config text (empty when valid).

    + program: one of loki, tempo, mimir, grafana
    + text: the configuration file's contents (YAML, or INI for grafana)

    Example: check_config(program="loki", text=open("loki.yaml").read())
    """
    if program == "grafana":
        return _check_grafana(text)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        return [f"yaml: {error}".replace("\n", " ")]
    if root is None:
        return []
    if not isinstance(root, yaml.MappingNode):
        return ["yaml: the configuration is not a mapping"]
    errors: list[str] = []
    for key_node, value_node in root.value:
        key = str(key_node.value)
        if key not in KNOWN_KEYS[program]:
            line = key_node.start_mark.line + 1
            errors.append(f"line {line}: field {key} not found in type {program}.Config")
            continue
        _check_node(value_node, KNOWN_KEYS[program][key], key, f"{program}.{key}", errors)
    return errors


def _grafana_ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    # Grafana allows keys before the first section header; they belong to a default section.
    parser.read_string("[__global__]\n" + text)
    return parser


def _check_grafana(text: str) -> list[str]:
    # Grafana ignores unknown INI keys, so only what it refuses at startup is an error here.
    try:
        parser = _grafana_ini(text)
    except configparser.Error as error:
        return [f"failed to parse INI: {error}".replace("\n", " ")]
    errors = []
    port = parser.get("server", "http_port", fallback="3000")
    if not port.strip().isdigit():
        errors.append(f"[server] http_port: invalid port {port!r}")
    protocol = parser.get("server", "protocol", fallback="http")
    if protocol not in ("http", "https", "h2", "socket", "socket_h2"):
        errors.append(f"[server] protocol: invalid protocol {protocol!r}")
    return errors


# --- Command line ---------------------------------------------------------------------------


class UsageError(Exception):
    """A command line the real program would refuse (Go's flag package exits 2)."""


# Flags whose value must follow them; every other flag given without `=value` is boolean.
_VALUE_FLAGS = {
    "loki": {"config.file", "target", "log.level"},
    "tempo": {"config.file", "target", "config.verify", "log.level"},
    "mimir": {"config.file", "target", "log.level"},
    "grafana": {"config", "homepath", "pidfile", "packaging"},
}


@dataclass
class Options:
    program: str
    flags: dict[str, str] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)

    def flag(self, name: str, default: str = "") -> str:
        return self.flags.get(name, default)

    def enabled(self, name: str) -> bool:
        return self.flags.get(name, "false").lower() in ("1", "t", "true")


def parse_args(program: str, argv: list[str]) -> Options:
    """Parse flags in Go's style (-f=v, --f=v, -f v, boolean -f); Grafana's cfg: overrides too."""
    options = Options(program)
    args = list(argv)
    if program == "grafana" and args and args[0] == "server":
        args.pop(0)
    while args:
        arg = args.pop(0)
        if program == "grafana" and arg.startswith("cfg:"):
            key, _, value = arg[4:].partition("=")
            options.overrides[key] = value
            continue
        if arg == "--":
            break
        if not arg.startswith("-") or arg == "-":
            if program == "grafana":
                continue
            break
        name, has_value, value = arg.lstrip("-").partition("=")
        if not has_value and name in _VALUE_FLAGS[program]:
            if not args:
                raise UsageError(f"flag needs an argument: -{name}")
            value = args.pop(0)
        elif not has_value:
            value = "true"
        # Unknown flags are accepted: the real programs expose every config key as a flag.
        options.flags[name] = value
    return options


# --- Listening ------------------------------------------------------------------------------


@dataclass
class Listener:
    role: str
    host: str
    port: int


def _get(tree: Any, dotted: str, default: Any = None) -> Any:
    for part in dotted.split("."):
        if not isinstance(tree, dict) or part not in tree or tree[part] is None:
            return default
        tree = tree[part]
    return tree


def _host(value: Any) -> str:
    return str(value) if value else "0.0.0.0"


def _split_endpoint(endpoint: str, default_port: int) -> tuple[str, int]:
    host, _, port = endpoint.rpartition(":")
    if not port.isdigit():
        return _host(endpoint), default_port
    return _host(host.strip("[]")), int(port)


def _uses_memberlist(config: Any) -> bool:
    found = False

    def walk(node: Any) -> None:
        nonlocal found
        if isinstance(node, dict):
            if node.get("store") == "memberlist":
                found = True
            for value in node.values():
                walk(value)

    walk(config)
    return found


def _memberlist_listener(config: dict[str, Any]) -> Listener:
    addresses = _get(config, "memberlist.bind_addr") or ["0.0.0.0"]
    return Listener(
        "memberlist", _host(addresses[0]), int(_get(config, "memberlist.bind_port", 7946))
    )


def listeners_for(program: str, config: Any) -> list[Listener]:
    """The TCP listeners the real program opens for this (already checked) config."""
    if program == "grafana":
        parser = config
        host = parser.get("server", "http_addr", fallback="") or "0.0.0.0"
        return [Listener("http", host, int(parser.get("server", "http_port", fallback="3000")))]
    config = config if isinstance(config, dict) else {}
    http_default = {"loki": 3100, "tempo": 3200, "mimir": 8080}[program]
    found = [
        Listener(
            "http",
            _host(_get(config, "server.http_listen_address")),
            int(_get(config, "server.http_listen_port", http_default)),
        ),
        Listener(
            "grpc",
            _host(_get(config, "server.grpc_listen_address")),
            int(_get(config, "server.grpc_listen_port", 9095)),
        ),
    ]
    if program == "loki":
        if _get(config, "memberlist.join_members") or _uses_memberlist(config):
            found.append(_memberlist_listener(config))
    elif program == "mimir":
        rings = (
            "distributor.ring",
            "ingester.ring",
            "compactor.sharding_ring",
            "store_gateway.sharding_ring",
        )
        stores = [_get(config, f"{ring}.kvstore.store", "memberlist") for ring in rings]
        if any(store != "inmemory" for store in stores):
            found.append(_memberlist_listener(config))
    elif program == "tempo":
        protocols = _get(config, "distributor.receivers.otlp.protocols") or {}
        for name, default_port in (("grpc", 4317), ("http", 4318)):
            if name in protocols:
                endpoint = _get(protocols, f"{name}.endpoint") or f"0.0.0.0:{default_port}"
                host, port = _split_endpoint(str(endpoint), default_port)
                found.append(Listener(f"otlp-{name}", host, port))
        if _get(config, "memberlist.join_members"):
            found.append(_memberlist_listener(config))
    return found


def _data_dir(program: str, config: Any) -> str | None:
    if program == "grafana":
        return config.get("paths", "data", fallback=None)
    paths = {
        "loki": "common.path_prefix",
        "tempo": "storage.trace.local.path",
        "mimir": "blocks_storage.tsdb.dir",
    }
    value = _get(config, paths[program])
    return str(value) if value else None


# --- HTTP -----------------------------------------------------------------------------------


class Counters:
    """What the stand-in has received, exposed on /metrics."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: dict[tuple[str, str], int] = {}
        self.received_requests: dict[str, int] = {}
        self.received_bytes: dict[str, int] = {}

    def seen(self, method: str, path: str) -> None:
        with self.lock:
            self.requests[(method, path)] = self.requests.get((method, path), 0) + 1

    def received(self, path: str, size: int) -> None:
        with self.lock:
            self.received_requests[path] = self.received_requests.get(path, 0) + 1
            self.received_bytes[path] = self.received_bytes.get(path, 0) + size

    def render(self, program: str) -> str:
        lines = [
            "# HELP standin_info Which program this stand-in imitates, and at which version.",
            "# TYPE standin_info gauge",
            f'standin_info{{program="{program}",version="{STANDIN_VERSION}"}} 1',
            "# HELP standin_http_requests_total HTTP requests received, by method and path.",
            "# TYPE standin_http_requests_total counter",
        ]
        with self.lock:
            for (method, path), count in sorted(self.requests.items()):
                lines.append(
                    f'standin_http_requests_total{{method="{method}",path="{path}"}} {count}'
                )
            lines += [
                "# HELP standin_received_requests_total Write requests accepted, by path.",
                "# TYPE standin_received_requests_total counter",
            ]
            for path, count in sorted(self.received_requests.items()):
                lines.append(f'standin_received_requests_total{{path="{path}"}} {count}')
            lines += [
                "# HELP standin_received_bytes_total Body bytes of accepted write requests.",
                "# TYPE standin_received_bytes_total counter",
            ]
            for path, size in sorted(self.received_bytes.items()):
                lines.append(f'standin_received_bytes_total{{path="{path}"}} {size}')
        return "\n".join(lines) + "\n"


_EMPTY_VECTOR = {"status": "success", "data": {"resultType": "vector", "result": []}}
_EMPTY_MATRIX = {"status": "success", "data": {"resultType": "matrix", "result": []}}
_EMPTY_LIST = {"status": "success", "data": []}

Response = tuple[int, str, bytes]


def _json(status: int, body: Any) -> Response:
    return status, "application/json", json.dumps(body).encode()


def route(program: str, role: str, method: str, path: str, counters: Counters) -> Response:
    """Answer one request the way the real program would answer it, minimally."""
    text = "text/plain; charset=utf-8"
    if role == "otlp-http":
        if method == "POST" and path == "/v1/traces":
            return _json(200, {})
        return 404, text, b"404 page not found\n"
    if path == "/metrics" and method == "GET":
        return 200, "text/plain; version=0.0.4", counters.render(program).encode()
    if program == "grafana":
        if path == "/api/health":
            return _json(200, {"database": "ok", "version": STANDIN_VERSION})
        if path.startswith("/api/"):
            return _json(401, {"message": "Unauthorized"})
        return 200, "text/html", b"<!doctype html><title>Grafana stand-in</title>\n"
    if path == "/ready" and method == "GET":
        return 200, text, b"ready\n"
    if program == "mimir":
        if method == "POST" and path == "/api/v1/push":
            return 200, text, b""
        if path in ("/prometheus/api/v1/query", "/api/prom/api/v1/query"):
            return _json(200, _EMPTY_VECTOR)
        if path in ("/prometheus/api/v1/query_range", "/api/prom/api/v1/query_range"):
            return _json(200, _EMPTY_MATRIX)
        if path.startswith("/prometheus/api/v1/"):
            return _json(200, _EMPTY_LIST)
    if program == "loki":
        if method == "POST" and path == "/loki/api/v1/push":
            return 204, text, b""
        if path.startswith("/loki/api/v1/label"):
            return _json(200, _EMPTY_LIST)
    if program == "tempo" and path == "/api/echo":
        return 200, text, b"echo"
    return 404, text, b"404 page not found\n"


_WRITE_PATHS = {"/api/v1/push", "/loki/api/v1/push", "/v1/traces"}


def _handler(program: str, role: str, counters: Counters) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"{program}-standin/{STANDIN_VERSION}"

        def _answer(self, method: str) -> None:
            path = self.path.split("?", 1)[0]
            size = int(self.headers.get("Content-Length") or 0)
            if size:
                self.rfile.read(size)
            counters.seen(method, path)
            status, content_type, body = route(program, role, method, path, counters)
            if status < 300 and path in _WRITE_PATHS:
                counters.received(path, size)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
            self._answer("GET")

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer("HEAD")

        def do_POST(self) -> None:  # noqa: N802
            self._answer("POST")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


class _TCPOnly:
    """A listener that completes TCP handshakes and closes them (gRPC and gossip ports)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.closed:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            connection.close()

    def shutdown(self) -> None:
        self.closed = True
        self.sock.close()


def _bind(listener: Listener) -> socket.socket:
    family = socket.AF_INET6 if ":" in listener.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listener.host, listener.port))
        sock.listen(64)
    except OSError:
        sock.close()
        raise
    return sock


# --- Running --------------------------------------------------------------------------------


def _log(program: str, message: str) -> None:
    print(f"standin {program}: {message}", file=sys.stderr, flush=True)


def program_from_argv0(argv0: str) -> str | None:
    name = os.path.basename(argv0).lower()
    for program in PROGRAMS:
        if program in name:
            return program
    return None


def load_config(options: Options) -> tuple[str, Any]:
    """Read and check the config; return (path, parsed config) or raise ValueError."""
    program = options.program
    path = options.flag("config" if program == "grafana" else "config.file")
    if program == "grafana" and not path:
        path = os.path.join(options.flag("homepath", "."), "conf", "defaults.ini")
    if not path:
        raise ValueError("-config.file is required")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror}") from error
    if program != "grafana" and options.enabled("config.expand-env"):
        text = expand_env(program, text)
    errors = check_config(program, text)
    if errors:
        raise ValueError("; ".join(f"{path}: {error}" for error in errors))
    if program == "grafana":
        parser = _grafana_ini(text)
        for dotted, value in options.overrides.items():
            # Grafana's own units write overrides as cfg:default.<section>.<key>=<value>.
            section, _, key = dotted.removeprefix("default.").rpartition(".")
            if not parser.has_section(section):
                parser.add_section(section)
            parser.set(section, key, value)
        return path, parser
    return path, yaml.safe_load(text) or {}


_MIMIR_MODULES = (
    "activity-tracker",
    "alertmanager",
    "all *",
    "compactor *",
    "distributor *",
    "flusher",
    "ingester *",
    "memberlist-kv",
    "overrides-exporter",
    "querier *",
    "query-frontend *",
    "query-scheduler",
    "ruler *",
    "server",
    "store-gateway *",
)


def _write_marker(program: str, config: Any) -> None:
    directory = _data_dir(program, config)
    if not directory or not os.path.isdir(directory):
        return
    try:
        with open(os.path.join(directory, f".standin-{program}"), "w", encoding="utf-8") as out:
            out.write(f"{program} stand-in {STANDIN_VERSION} pid {os.getpid()}\n")
    except OSError as error:
        _log(program, f"cannot write a marker in {directory}: {error.strerror}")


def serve(options: Options, path: str, config: Any) -> int:
    program = options.program
    servers: list[Any] = []
    stop = threading.Event()
    reload_requested = threading.Event()
    counters = Counters()
    listeners = listeners_for(program, config)
    try:
        for listener in listeners:
            sock = _bind(listener)
            if listener.role in ("http", "otlp-http"):
                handler = _handler(program, listener.role, counters)
                server = ThreadingHTTPServer(
                    (listener.host, listener.port), handler, bind_and_activate=False
                )
                server.socket.close()
                server.socket = sock
                server.daemon_threads = True
                threading.Thread(target=server.serve_forever, daemon=True).start()
                servers.append(server)
            else:
                servers.append(_TCPOnly(sock))
    except OSError as error:
        for server in servers:
            server.shutdown()
        _log(
            program,
            f"listen tcp {listener.host}:{listener.port}: bind: {error.strerror} "
            f"(port {listener.port}, {listener.role})",
        )
        return 1

    _write_marker(program, config)
    bound = ", ".join(f"{item.role}={item.host}:{item.port}" for item in listeners)
    _log(program, f"version {STANDIN_VERSION} (stand-in) config {path} listening {bound}")

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, lambda *_: reload_requested.set())
    while not stop.is_set():
        stop.wait(0.2)
        if reload_requested.is_set():
            reload_requested.clear()
            try:
                load_config(options)
                _log(program, f"reloaded config {path}")
            except ValueError as error:
                _log(program, f"reload failed, keeping the running config: {error}")
    for server in servers:
        server.shutdown()
    _log(program, "received a stop signal, exiting")
    return 0


def main(argv: list[str] | None = None, argv0: str | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    program = program_from_argv0(argv0 or sys.argv[0])
    if program is None:
        print("standin: name this file after loki, mimir, tempo or grafana", file=sys.stderr)
        return 2
    if any(
        arg in ("-version", "--version") or (program == "grafana" and arg == "-v") for arg in args
    ):
        print(f"{program}, version {STANDIN_VERSION} (stand-in)")
        return 0
    try:
        options = parse_args(program, args)
    except UsageError as error:
        _log(program, str(error))
        return 2
    check_only = (
        (program == "loki" and options.enabled("verify-config"))
        or (program == "tempo" and "config.verify" in options.flags)
        or (program == "mimir" and (options.enabled("modules") or options.enabled("print.config")))
    )
    if program == "tempo" and "config.verify" in options.flags:
        check_only = options.enabled("config.verify")
    try:
        path, config = load_config(options)
    except ValueError as error:
        _log(program, str(error))
        return 1
    if check_only:
        if program == "mimir" and options.enabled("modules"):
            print("\n".join(_MIMIR_MODULES))
            print("\nModules marked with * are included in target All.")
        elif program == "mimir":
            print(yaml.safe_dump(config, sort_keys=True), end="")
        else:
            print(f"config {path} is valid")
        return 0
    return serve(options, path, config)


if __name__ == "__main__":
    sys.exit(main())
