use super::sst;

#[test]
fn shared_strings_are_measured_across_continue_records() {
    // Two strings: "hello" (compressed), then "abcd" split by a CONTINUE record that switches
    // to two bytes a character.
    let mut data = vec![0u8; 8];
    data.extend_from_slice(&[5, 0, 0]);
    data.extend_from_slice(b"hello");
    data.extend_from_slice(&[4, 0, 0]);
    data.extend_from_slice(b"ab");
    let cont: &[u8] = &[1, b'c', 0, b'd', 0];
    assert_eq!(sst::lengths(&data, &[cont]), vec![5, 4]);
}

#[test]
fn a_shared_string_cut_short_ends_the_table_where_calamine_fails() {
    let mut data = vec![0u8; 8];
    data.extend_from_slice(&[3, 0, 0]);
    data.extend_from_slice(b"ok");
    assert_eq!(sst::lengths(&data, &[]), Vec::<u16>::new());
}
