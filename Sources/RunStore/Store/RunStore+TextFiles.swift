extension RunStore {
    /// The bytes of one of a run's files (`output.log`); nil when the run has none.
    public func readRunFile(_ location: RunLocation, _ file: RunFile) throws -> [UInt8]? {
        try FileIO.read(layout.runFile(location, file))
    }

    /// Replaces one of a run's whole files (`output.log`) under the run's lock, unless unchanged.
    /// Returns whether the file was written.
    @discardableResult
    public func replaceRunFile(_ location: RunLocation, _ file: RunFile, with bytes: [UInt8]) throws -> Bool {
        if try readRunFile(location, file) == bytes { return false }
        return try withRunLock(location) { () throws -> Bool in
            if try readRunFile(location, file) == bytes { return false }
            try FileIO.writeAtomically(bytes, to: layout.runFile(location, file), sync: syncEachWrite)
            return true
        }
    }
}
