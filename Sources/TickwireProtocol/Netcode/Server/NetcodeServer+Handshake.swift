/// Connection request and challenge response handling (netcode 1.02 "server connection process").
extension NetcodeServer {
    mutating func receiveConnectionRequest(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress, now: TickwireInstant) {
        let request: NetcodePacket.ConnectionRequest
        switch NetcodePacket.ConnectionRequest.decode(datagram, protocolID: configuration.protocolID) {
        case .failure(let reason): return dropRequest(reason, from: address)
        case .success(let r): request = r
        }
        let unixNow = unixSeconds(now)
        guard request.expireTimestamp > unixNow else { return dropRequest(.connectTokenExpired, from: address) }
        // Decryption is the expensive step: each source address gets its own budget for it.
        guard requestBudget.take(address, now: now) else { return dropRequest(.requestRateLimited, from: address) }

        // Decrypt the private token in the scratch buffer.
        let privateKey = configuration.privateKey
        let decoded: Result<ConnectTokenPrivate, NetcodeDropReason> = scratch.withUnsafeMutableBytes { raw in
            let buffer = UnsafeMutableRawBufferPointer(rebasing: raw[0..<Netcode.connectTokenPrivateBytes])
            request.encryptedPrivate.withUnsafeBytes { buffer.copyMemory(from: $0) }
            let opened = request.nonce.withUnsafeBytes { n in
                privateKey.withUnsafeBytes { k in
                    ConnectTokenPrivate.decrypt(
                        buffer: buffer, protocolID: request.protocolID, expireTimestamp: request.expireTimestamp,
                        nonce: n, key: k)
                }
            }
            guard opened else { return .failure(.connectTokenDecryptFailed) }
            do {
                return .success(try ConnectTokenPrivate.decode(
                    plaintext: UnsafeRawBufferPointer(rebasing: buffer[0..<Netcode.connectTokenPrivateBytes - Netcode.macBytes])))
            } catch {
                return .failure(.connectTokenInvalid)
            }
        }
        let token: ConnectTokenPrivate
        switch decoded {
        case .failure(let reason): return dropRequest(reason, from: address)
        case .success(let t): token = t
        }

        guard token.serverAddresses.contains(where: configuration.serverAddresses.contains) else {
            return ignore(token, address, .serverAddressNotInToken)
        }
        guard clientByAddress[address] == nil else { return ignore(token, address, .clientAddressAlreadyConnected) }
        guard clientByID[token.clientID] == nil else { return ignore(token, address, .clientIDAlreadyConnected) }
        let mac = request.encryptedPrivate.withUnsafeBytes { raw in
            TokenHistory.MAC(UnsafeRawBufferPointer(rebasing: raw[(Netcode.connectTokenPrivateBytes - Netcode.macBytes)...]))
        }
        guard tokenHistory.findOrAdd(mac, address: address) else { return ignore(token, address, .connectTokenReused) }

        if !admitsNewClients || connectedClientCount >= configuration.maxClients {
            sendDenied(to: address, key: token.serverToClientKey)
            events.append(.connectionDenied(clientID: token.clientID, address: address))
            return
        }
        let timeout: Duration? = token.timeoutSeconds > 0 ? .seconds(Int64(token.timeoutSeconds)) : nil
        let mapping = EncryptionMappings.Mapping(
            sendKey: token.serverToClientKey, receiveKey: token.clientToServerKey, timeout: timeout,
            expireUnixSeconds: request.expireTimestamp, lastAccess: now)
        guard mappings.add(address, mapping, now: now, unixSeconds: unixNow) else { return drop(.encryptionMappingFull) }

        let challenge = ChallengeToken(clientID: token.clientID, userData: token.userData)
            .encrypt(sequence: challengeSequence, key: configuration.challengeKey)
        let challengeSequence = self.challengeSequence
        sendGlobal(.connectionChallenge, to: address, key: token.serverToClientKey, plaintextLength: 8 + Netcode.challengeTokenBytes) { w in
            w.write(challengeSequence)
            w.write(bytes: challenge)
        }
        self.challengeSequence &+= 1
        counters.challengesSent &+= 1
    }

    private mutating func dropRequest(_ reason: NetcodeDropReason, from address: NetcodeAddress) {
        drop(reason)
        if reportsRequestDrops { events.append(.connectionRequestDropped(address: address, reason: reason)) }
    }

    private mutating func ignore(_ token: ConnectTokenPrivate, _ address: NetcodeAddress, _ reason: NetcodeDropReason) {
        drop(reason)
        events.append(.connectionRequestIgnored(clientID: token.clientID, address: address, reason: reason))
    }

    mutating func receiveConnectionResponse(
        sequence: UInt64, token encrypted: [UInt8], mapping: EncryptionMappings.Mapping,
        from address: NetcodeAddress, now: TickwireInstant
    ) {
        guard let challenge = encrypted.withUnsafeBytes({
            ChallengeToken.decrypt($0, sequence: sequence, key: configuration.challengeKey)
        }) else { return drop(.challengeTokenInvalid) }
        guard clientByID[challenge.clientID] == nil else { return drop(.clientIDAlreadyConnected) }
        guard admitsNewClients, connectedClientCount < configuration.maxClients,
            let index = liveness.firstIndex(where: { !$0.connected })
        else {
            sendDenied(to: address, key: mapping.sendKey)
            events.append(.connectionDenied(clientID: challenge.clientID, address: address))
            return
        }
        var slot = slots[index]
        slot.confirmed = false
        slot.clientID = challenge.clientID
        slot.address = address
        slot.sendKey = SessionKey(mapping.sendKey)
        slot.receiveKey = SessionKey(mapping.receiveKey)
        slot.sequence = 0
        slot.replay.reset()
        slot.userData = challenge.userData
        slots[index] = slot
        liveness[index] = Liveness(
            connected: true, timeoutNanoseconds: mapping.timeout?.nonNegativeNanoseconds ?? .max, lastReceive: now, lastSend: now)
        clientByAddress[address] = index
        clientByID[challenge.clientID] = index
        mappings.remove(address)
        connectedClientCount += 1
        events.append(.clientConnected(clientIndex: index, clientID: challenge.clientID, address: address, userData: challenge.userData))
        sendKeepAlive(index, now: now)
    }
}
