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
