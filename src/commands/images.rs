//! `mydocker images` (step 14): the image tars under ROOT/images.

use std::path::Path;

use anyhow::Result;

use crate::cli::ImagesArgs;
use crate::fs::image;

pub fn images(root: &Path, args: &ImagesArgs) -> Result<i32> {
    let list = image::list(root)?;
    if args.json {
        let rows: Vec<_> = list
            .iter()
            .map(|i| {
                serde_json::json!({
                    "name": i.name,
                    "size": i.size,
                    "created": crate::format::format_time(i.created),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    let mut rows = vec![["NAME".to_string(), "SIZE".into(), "CREATED".into()]];
    for i in &list {
        rows.push([
            i.name.clone(),
            crate::format::human_size(i.size),
            crate::format::format_time(i.created),
        ]);
    }
    print!("{}", crate::format::table(&rows));
    Ok(0)
}
