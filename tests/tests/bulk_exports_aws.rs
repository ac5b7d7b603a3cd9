//! Bulk exports (API + worker) on DynamoDB, S3 and SQS in moto.

exports_tests::bulk_suite!(exports_tests::bulk::BulkFixture::aws);

mod contract {
    exports_tests::bulk_contract_suite!(exports_tests::bulk_contract::aws);
}

/// The DynamoDB items behind the task primitives: the set of finished
/// tasks is a number set on `TASKSDONE#{job}`, created by `put_tasks` with
/// the job's `ttl` so DynamoDB expires it with the job.
mod task_items {
    use aws_sdk_dynamodb::types::AttributeValue;
    use exports_shared::model::bulk::{
        BulkJob, BulkTask, DateFormat, ExportFilters, ExportSpec, ExportType, ExportVersion,
        TaskPartition,
    };
    use exports_shared::model::TenantId;
    use exports_shared::store::aws::DynamoBulkJobs;
    use exports_shared::store::BulkJobStore;
    use exports_tests::backends::{create_table, moto_client, moto_url};

    #[tokio::test]
    async fn the_done_set_is_a_number_set_that_expires_with_the_job() {
        let Some(url) = moto_url() else { return };
        // GIVEN a planned job of two tasks whose ttl is known
        let client = moto_client(&url).await;
        let table = format!("test-{}-exports", uuid::Uuid::new_v4().simple());
        create_table(&client, &table).await;
        let store = DynamoBulkJobs::new(client.clone(), &table);
        let spec = ExportSpec {
            compression: Default::default(),
            export_type: ExportType::Contacts,
            date_format: DateFormat::Iso,
            delimiter: ',',
            version: ExportVersion::V1,
            filters: ExportFilters::default(),
        };
        let now = chrono::Utc::now();
        let mut job = BulkJob::new(BulkJob::new_id(), spec, now);
        job.ttl = Some(1_900_000_000);
        let tenant = TenantId::new("t-items");
        let tasks: Vec<BulkTask> = (0..2)
            .map(|i| BulkTask::new(&job, i, TaskPartition::All, now))
            .collect();
        store.put_tasks(&tenant, &tasks).await.unwrap();
        // WHEN task 1 is marked done, twice
        assert_eq!(store.mark_task_done(&tenant, &job.id, 1).await.unwrap(), 1);
        assert_eq!(store.mark_task_done(&tenant, &job.id, 1).await.unwrap(), 1);
        // THEN the item holds {1} as a number set, and the job's ttl
        let item = client
            .get_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("T#t-items".into()))
            .key("sk", AttributeValue::S(format!("TASKSDONE#{}", job.id)))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .expect("the TASKSDONE item");
        assert_eq!(
            item.get("done"),
            Some(&AttributeValue::Ns(vec!["1".into()]))
        );
        assert_eq!(
            item.get("ttl"),
            Some(&AttributeValue::N("1900000000".into()))
        );
        // AND each task item carries the ttl too
        let task = client
            .get_item()
            .table_name(&table)
            .key("pk", AttributeValue::S("T#t-items".into()))
            .key("sk", AttributeValue::S(format!("TASK#{}#00001", job.id)))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .expect("the task item");
        assert_eq!(
            task.get("ttl"),
            Some(&AttributeValue::N("1900000000".into()))
        );
        assert_eq!(task.get("version"), Some(&AttributeValue::N("0".into())));
    }
}

/// Fan-out through the AWS SDK with chunks of S3's real sizes: the
/// assembly copies large chunks inside S3 (`UploadPartCopy`, whole and from
/// an offset), merges the small tails, and a cancel leaves nothing.
mod fanout_assembly {
    use exports_shared::model::TenantId;
    use exports_shared::store::JobMessage;
    use exports_tests::bulk::{parse_csv, rec, sha256, BulkFixture, BULK_A};
    use exports_tests::bulk_fanout_cases::{create, drain, status};
    use serde_json::json;

    /// 2 days of 5,000 activities of ~2.2 KB: each day is one 8 MiB chunk
    /// and a ~3 MB tail.
    async fn fixture() -> Option<BulkFixture> {
        let mut fx = BulkFixture::aws().await?;
        let pad = "x".repeat(2_000);
        let records = (0..2)
            .flat_map(|d| {
                let pad = pad.clone();
                (0..5_000).map(move |i| {
                    rec(
                        &format!("big-{d}-{i:05}"),
                        json!({"contactId": "ca-1", "activityType": "email",
                            "occurredAt": format!("2026-04-0{}T{:02}:{:02}:{:02}Z", d + 1, i / 3600, (i / 60) % 60, i % 60),
                            "channel": "email", "metadata": {"pad": pad}}),
                    )
                })
            })
            .collect();
        fx.activities
            .put_activities(&TenantId::new(BULK_A), records)
            .await
            .expect("seed");
        fx.worker.page_size = 500;
        fx.worker.progress_every = std::time::Duration::from_secs(2);
        Some(fx)
    }

    fn april() -> serde_json::Value {
        json!({"exportType": "activities", "dateFormat": "ISO", "delimiter": ",",
            "filters": {"fromDate": "2026-04-01T00:00:00Z", "toDate": "2026-04-03T00:00:00Z"}})
    }

    /// The keys under the job's prefix, and the bucket's unfinished uploads.
    async fn leftovers(fx: &BulkFixture, id: &str) -> (Vec<String>, usize) {
        let (s3, bucket) = fx.s3.as_ref().expect("s3");
        let listed = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(format!("{BULK_A}/bulk/{id}/"))
            .send()
            .await
            .expect("list");
        let keys = listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        let uploads = s3
            .list_multipart_uploads()
            .bucket(bucket)
            .send()
            .await
            .expect("uploads");
        (keys, uploads.uploads().len())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_chunks_are_copied_inside_s3_and_the_file_is_whole() {
        let Some(fx) = fixture().await else { return };
        // WHEN a 2-day export runs on 2 workers
        let id = create(&fx, &april()).await;
        drain(
            &fx.worker,
            JobMessage::job(TenantId::new(BULK_A), &id),
            2,
            || None,
        )
        .await;
        // THEN the file holds every row once, in time order, and its sha256
        // is the whole file's
        let s = status(&fx, &id).await;
        assert_eq!(s["status"], "finished", "{s}");
        assert_eq!(s["rows"], 10_000);
        let file = fx
            .download(s["fileUrl"].as_str().expect("url"))
            .await
            .expect("file");
        assert!(file.len() > 16 * 1024 * 1024, "{} bytes", file.len());
        assert_eq!(s["bytes"].as_u64(), Some(file.len() as u64));
        assert_eq!(s["sha256"].as_str(), Some(sha256(&file).as_str()));
        let rows = parse_csv(&file, b',');
        let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
        let expected: Vec<String> = (0..2)
            .flat_map(|d| (0..5_000).map(move |i| format!("big-{d}-{i:05}")))
            .collect();
        assert!(ids == expected, "rows out of order or missing");
        // AND only the file is left under the job's prefix, no upload open
        let (keys, uploads) = leftovers(&fx, &id).await;
        assert_eq!(keys.len(), 1, "{keys:?}");
        assert!(keys[0].ends_with(".csv"));
        assert_eq!(uploads, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancel_mid_fan_out_leaves_no_object_and_no_upload() {
        let Some(fx) = fixture().await else { return };
        // GIVEN a 2-day export whose first day is written
        let id = create(&fx, &april()).await;
        let queue = exports_tests::bulk_fanout_cases::MemoryQueue::default();
        let plan = JobMessage::job(TenantId::new(BULK_A), &id);
        let d = exports_shared::service::bulk::Delivery::UNLIMITED;
        exports_shared::service::bulk::run_delivery(&fx.worker, &queue, &plan, d)
            .await
            .expect("plan");
        let tasks = queue.take();
        exports_shared::service::bulk::run_delivery(&fx.worker, &queue, &tasks[0], d)
            .await
            .expect("task 0");
        assert_eq!(leftovers(&fx, &id).await.0.len(), 2, "a chunk and a tail");
        // WHEN it is cancelled and its other task runs
        let r = fx
            .call(exports_tests::bulk_cancel_cases::delete(&fx.key_a, &id))
            .await;
        assert_eq!(r.status(), 200);
        let outcome = exports_shared::service::bulk::run_delivery(&fx.worker, &queue, &tasks[1], d)
            .await
            .expect("task 1");
        assert_eq!(
            outcome,
            exports_shared::service::bulk::JobOutcome::Cancelled
        );
        // THEN nothing is left in the bucket for it
        assert_eq!(leftovers(&fx, &id).await, (Vec::new(), 0));
        assert_eq!(status(&fx, &id).await["status"], "cancelled");
    }
}
