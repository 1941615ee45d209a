"""The CSV columns ``healthnet import`` reads, for members and for events.

Both benches write their generated data in these columns (bench/node.py North-American
members and events, bench/sync.py European members), so the files are what an operator
would import, and a renamed column is renamed once.
"""

MEMBER_COLUMNS = (
    "key name kind country city latitude longitude website social topics languages "
    "network_role joined contact_email description"
).split()

EVENT_COLUMNS = (
    "key title description kind starts_at ends_at timezone online_url organizer_key language "
    "registration_url topics status venue_name venue_city venue_country venue_latitude "
    "venue_longitude"
).split()
