CREATE TABLE `user_settings` (
	`user_id` text PRIMARY KEY NOT NULL,
	`preferred_transport` text,
	`default_online_model` text,
	`default_local_model` text,
	`backup_models` text DEFAULT '[]' NOT NULL,
	`rag_archives` text DEFAULT '[]' NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	CONSTRAINT "user_settings_preferred_transport" CHECK("user_settings"."preferred_transport" IN ('online', 'local')),
	CONSTRAINT "user_settings_backup_models_array" CHECK(json_valid("user_settings"."backup_models") AND json_type("user_settings"."backup_models") = 'array'),
	CONSTRAINT "user_settings_rag_archives_array" CHECK(json_valid("user_settings"."rag_archives") AND json_type("user_settings"."rag_archives") = 'array')
);
