package store

import "time"

// dateTimeLayout is how a DateTime is written in the data both backends send and read
// (VALUES, TabSeparated); SQL literals come from package literal.
const dateTimeLayout = time.DateTime
