//! The reference-data contract ([`ReferenceStore`]), written once and run on
//! every backend by `tests/contract_embedded.rs` and `tests/contract_aws.rs`
//! through [`reference_contract_suite!`](crate::reference_contract_suite).

use exports_shared::model::{City, Industry, ReferenceData};
use exports_shared::store::ReferenceStore;

/// Instantiates every reference case as a `#[tokio::test]` over a backend.
#[macro_export]
macro_rules! reference_contract_suite {
    ($backend:path) => {
        $crate::reference_contract_suite!(@cases $backend;
            the_bundled_reference_data_round_trips_in_order,
            reloading_replaces_and_cities_are_per_country,
        );
    };
    (@cases $backend:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(backend) = $backend().await else {
                    return;
                };
                $crate::reference_contract::$case(backend.get()).await;
            }
        )*
    };
}

/// Every list comes back whole, each in its documented order.
pub async fn the_bundled_reference_data_round_trips_in_order<S: ReferenceStore + ?Sized>(
    store: &S,
) {
    // GIVEN an empty store, THEN the lists are empty
    assert!(store.countries().await.expect("countries").is_empty());
    // WHEN the bundled data is loaded
    let data = ReferenceData::bundled().expect("bundled data");
    store.put_reference(&data).await.expect("put reference");
    // THEN every country comes back, ordered by common name in the root
    // collation (Åland Islands with the A's)
    let countries = store.countries().await.expect("countries");
    assert_eq!(countries.len(), data.countries.len());
    let names: Vec<&str> = countries.iter().map(|c| c.name.common.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| exports_shared::render::locale::compare_names(a, b));
    assert_eq!(names, sorted);
    let aland = names.iter().position(|n| *n == "Åland Islands");
    assert_eq!(aland, Some(1), "{names:?}");
    let chl = countries.iter().find(|c| c.cca3 == "CHL").expect("Chile");
    assert_eq!(
        chl,
        data.countries.iter().find(|c| c.cca3 == "CHL").unwrap()
    );
    // AND industries by display name, phone codes by country name
    let industries = store.industries().await.expect("industries");
    assert_eq!(industries.len(), data.industries.len());
    assert!(industries
        .windows(2)
        .all(|w| exports_shared::render::locale::compare_names(
            &w[0].display_name,
            &w[1].display_name
        )
        .is_le()));
    let phones = store.phone_codes().await.expect("phone codes");
    assert_eq!(phones.len(), data.phone_codes.len());
    assert!(phones.iter().any(|p| p.cca3 == "CHL" && p.code == "+56"));
    // AND the cities of one country only, by name
    let cities = store.cities("CHL").await.expect("cities");
    let expected: Vec<&City> = data.cities.iter().filter(|c| c.country == "CHL").collect();
    assert_eq!(cities.len(), expected.len());
    assert!(cities.iter().all(|c| c.country == "CHL"));
    assert_eq!(cities.first().map(|c| c.name.as_str()), Some("Antofagasta"));
}

/// Loading again replaces values in place; `CITY#CH` never leaks into `CITY#CHL`.
pub async fn reloading_replaces_and_cities_are_per_country<S: ReferenceStore + ?Sized>(store: &S) {
    // GIVEN a small data set with two countries whose codes share a prefix
    let small = |display: &str| {
        ReferenceData::parse(
            &format!(r#"[{{"name":"TECHNOLOGY","displayName":"{display}"}}]"#),
            r#"[{"cca2":"CH","cca3":"CHE","ccn3":"756","name":{"common":"Switzerland","official":"Swiss Confederation"},"flag":"x"},
                {"cca2":"CL","cca3":"CHL","ccn3":"152","name":{"common":"Chile","official":"Republic of Chile"},"flag":"y"}]"#,
            r#"{"CHE":["Zürich"],"CHL":["Santiago","Arica"]}"#,
            "[]",
        )
        .expect("small data")
    };
    store.put_reference(&small("Tech")).await.expect("put");
    // WHEN it is loaded again with a new display name
    store
        .put_reference(&small("Technology"))
        .await
        .expect("put again");
    // THEN the value is replaced, not duplicated
    assert_eq!(
        store.industries().await.expect("industries"),
        vec![Industry {
            name: "TECHNOLOGY".into(),
            display_name: "Technology".into()
        }]
    );
    let names = |v: Vec<City>| v.into_iter().map(|c| c.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.cities("CHL").await.unwrap()),
        ["Arica", "Santiago"]
    );
    assert_eq!(names(store.cities("CHE").await.unwrap()), ["Zürich"]);
    assert!(store.cities("CH").await.unwrap().is_empty());
}
